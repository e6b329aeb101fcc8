/** Raw WireGuard keys are 32 bytes (Curve25519). */
export const KEY_LENGTH = 32;

/** A WireGuard key in its usual spelling: base64 of exactly 32 bytes (44 characters). */
export function isWireGuardKey(text: unknown): text is string {
  // The last character before `=` carries 2 padding bits that must be zero, so only 16 letters fit there.
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(text)) return false;
  return Buffer.from(text, 'base64').length === KEY_LENGTH;
}
