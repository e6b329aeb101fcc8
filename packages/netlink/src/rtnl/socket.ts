import { createRtNetlink, type RtNetlinkSocket } from 'netlink';
import { type ErrorContext, toNetlinkError } from '../errors.js';

/**
 * The part of the `netlink` package's rtnetlink socket we use. Everything in rtnl/ talks to this interface,
 * so unit tests substitute a fake and integration tests run the real one inside a lab namespace.
 */
export type RtnlSocket = Pick<
  RtNetlinkSocket,
  | 'getLinks'
  | 'newLink'
  | 'delLink'
  | 'setLink'
  | 'getAddresses'
  | 'newAddress'
  | 'delAddress'
  | 'getRoutes'
  | 'newRoute'
  | 'delRoute'
  | 'getRules'
  | 'newRule'
  | 'delRule'
>;

export interface RtnlConnection {
  socket: RtnlSocket;
  close(): void;
}

/** Opens an rtnetlink socket in the calling process's network namespace. */
export function openRtnl(): RtnlConnection {
  const socket = createRtNetlink();
  return { socket, close: () => socket.socket.close() };
}

/** NLM_F_* flags (linux/netlink.h) the appliers need. */
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;

/** Runs one netlink request and turns a refusal into a NetlinkError carrying operation and errno. */
export async function call<T>(
  context: Omit<ErrorContext, 'errno' | 'code'>,
  request: () => Promise<T>,
): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw toNetlinkError(error, context);
  }
}
