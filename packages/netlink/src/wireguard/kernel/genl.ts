import { createGenericNetlink, FlagsGet, genl } from 'netlink';
import { NetlinkError, toNetlinkError } from '../../errors.js';

/** Generic netlink as the kernel backend needs it; a fake in unit tests records the payloads. */
export interface GenlTransport {
  /** The family id of a genl family; NetlinkError ENOENT when the kernel does not have it. */
  familyId(name: string): Promise<number>;
  /** Sends one request (attribute payload after the genl header) and returns the reply payloads. */
  request(
    family: number,
    cmd: number,
    version: number,
    payload: Buffer,
    options?: { dump?: boolean },
  ): Promise<Buffer[]>;
  close(): void;
}

/** Generic netlink over the `netlink` package's socket (transport only: we build the payloads). */
export function openGenl(): GenlTransport {
  const socket = createGenericNetlink();
  const families = new Map<string, number>();
  return {
    async familyId(name) {
      const known = families.get(name);
      if (known !== undefined) return known;
      let replies: genl.Message[];
      try {
        replies = await socket.ctrlRequest(genl.Commands.GET_FAMILY, { familyName: name });
      } catch (error) {
        throw toNetlinkError(error, { operation: 'genl.family', detail: { family: name } });
      }
      const id = replies[0]?.familyId;
      if (id === undefined) {
        throw new NetlinkError(`genl.family failed: no family ${name}`, {
          operation: 'genl.family',
          errno: 2,
          code: 'ENOENT',
          detail: { family: name },
        });
      }
      families.set(name, id);
      return id;
    },
    async request(family, cmd, version, payload, options = {}) {
      const [messages] = await socket.request(family, cmd, version, payload, {
        ...(options.dump ? { flags: FlagsGet.DUMP } : {}),
      });
      return messages.map((message) => message.data);
    },
    close() {
      socket.socket.close();
    },
  };
}
