// Just the part of @msimerson/stun (CommonJS, untyped) that the agent uses.
declare module '@msimerson/stun' {
  interface StunAddress {
    address: string;
    port: number;
    family: string;
  }
  interface StunMessage {
    toBuffer(): Buffer;
    transactionId: Buffer;
  }
  interface StunResponse {
    transactionId: Buffer;
    getXorAddress(): StunAddress | undefined;
    getAddress(): StunAddress | undefined;
  }
  const stun: {
    createMessage(type: number, transaction?: Buffer): StunMessage;
    decode(message: Buffer): StunResponse;
    constants: { STUN_BINDING_REQUEST: number; STUN_BINDING_RESPONSE: number; [name: string]: number };
  };
  export default stun;
}
