// Constants of the kernel's WireGuard generic netlink API, as laid out in the kernel's
// include/uapi/linux/wireguard.h (Linux 5.6+; WGALLOWEDIP_A_FLAGS since 6.16). Facts, not code:
//
//   WG_CMD_GET_DEVICE (dump) / WG_CMD_SET_DEVICE, version WG_GENL_VERSION, family WG_GENL_NAME.
//   Device:    WGDEVICE_A_IFINDEX u32, WGDEVICE_A_IFNAME string, WGDEVICE_A_PRIVATE_KEY / PUBLIC_KEY 32 bytes,
//              WGDEVICE_A_FLAGS u32 (WGDEVICE_F_REPLACE_PEERS), WGDEVICE_A_LISTEN_PORT u16, WGDEVICE_A_FWMARK u32,
//              WGDEVICE_A_PEERS: NLA_NESTED array of peers (each entry a nest whose own type is ignored, 0 here).
//   Peer:      WGPEER_A_PUBLIC_KEY 32 bytes, WGPEER_A_PRESHARED_KEY 32 bytes (all zero = none),
//              WGPEER_A_FLAGS u32 (WGPEER_F_REMOVE_ME, WGPEER_F_REPLACE_ALLOWEDIPS, WGPEER_F_UPDATE_ONLY),
//              WGPEER_A_ENDPOINT struct sockaddr_in / sockaddr_in6, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL u16,
//              WGPEER_A_LAST_HANDSHAKE_TIME struct __kernel_timespec, WGPEER_A_RX_BYTES / TX_BYTES u64,
//              WGPEER_A_ALLOWEDIPS: NLA_NESTED array of allowed IPs, WGPEER_A_PROTOCOL_VERSION u32.
//   AllowedIP: WGALLOWEDIP_A_FAMILY u16 (AF_INET / AF_INET6), WGALLOWEDIP_A_IPADDR 4 or 16 bytes,
//              WGALLOWEDIP_A_CIDR_MASK u8, WGALLOWEDIP_A_FLAGS u32 (WGALLOWEDIP_F_REMOVE_ME).
// Since 5.2 the kernel parses these nests strictly, so every nest carries NLA_F_NESTED (see nla.ts).

export const WG_GENL_NAME = 'wireguard';
export const WG_GENL_VERSION = 1;
export const WG_KEY_LEN = 32;

export const WG_CMD_GET_DEVICE = 0;
export const WG_CMD_SET_DEVICE = 1;

export const WGDEVICE_F_REPLACE_PEERS = 1 << 0;

export const WGDEVICE_A_UNSPEC = 0;
export const WGDEVICE_A_IFINDEX = 1;
export const WGDEVICE_A_IFNAME = 2;
export const WGDEVICE_A_PRIVATE_KEY = 3;
export const WGDEVICE_A_PUBLIC_KEY = 4;
export const WGDEVICE_A_FLAGS = 5;
export const WGDEVICE_A_LISTEN_PORT = 6;
export const WGDEVICE_A_FWMARK = 7;
export const WGDEVICE_A_PEERS = 8;

export const WGPEER_F_REMOVE_ME = 1 << 0;
export const WGPEER_F_REPLACE_ALLOWEDIPS = 1 << 1;
export const WGPEER_F_UPDATE_ONLY = 1 << 2;

export const WGPEER_A_UNSPEC = 0;
export const WGPEER_A_PUBLIC_KEY = 1;
export const WGPEER_A_PRESHARED_KEY = 2;
export const WGPEER_A_FLAGS = 3;
export const WGPEER_A_ENDPOINT = 4;
export const WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL = 5;
export const WGPEER_A_LAST_HANDSHAKE_TIME = 6;
export const WGPEER_A_RX_BYTES = 7;
export const WGPEER_A_TX_BYTES = 8;
export const WGPEER_A_ALLOWEDIPS = 9;
export const WGPEER_A_PROTOCOL_VERSION = 10;

export const WGALLOWEDIP_F_REMOVE_ME = 1 << 0;

export const WGALLOWEDIP_A_UNSPEC = 0;
export const WGALLOWEDIP_A_FAMILY = 1;
export const WGALLOWEDIP_A_IPADDR = 2;
export const WGALLOWEDIP_A_CIDR_MASK = 3;
export const WGALLOWEDIP_A_FLAGS = 4;

/** Generic netlink message header (struct genlmsghdr: cmd, version, reserved u16) and nlmsghdr sizes. */
export const GENL_HEADER_LEN = 4;
export const NLMSG_HEADER_LEN = 16;

/**
 * wg(8) fills each SET_DEVICE message up to MNL_SOCKET_BUFFER_SIZE (the page size, capped at 8192) and
 * continues in a new message; we do the same with 4096, the smallest page size Linux runs on.
 */
export const DEFAULT_MESSAGE_BUDGET = 4096;
