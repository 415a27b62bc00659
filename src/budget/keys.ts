// The Redis key layout. Every key of an org carries the hash tag {org:<id>}, so each script
// touches one Cluster slot; the in-process store uses the same names for parity.
//
//   <p>{org:O}:b:<scope>:<id>:<metric>:<window>:<windowStartMs>   hash u (used) r (reserved) x (crossings)
//   <p>{org:O}:b:<scope>:<id>:<metric>:session:<sessionId>         the same, per x-session-id
//   <p>{org:O}:cc:<scope>:<id>                                      hash r = requests in flight
//   <p>{org:O}:rl:<scope>:<id>:<rpm|tpm>                            GCRA theoretical arrival time, µs
//   <p>{org:O}:rsv:<reservationId>                                  string: "o|r out deadline reservedAt prompt
//                                                                   promptCost outPrice" plus one line per
//                                                                   bucket (lua/reserve.lua) while open or
//                                                                   reaped; "s out" once settled
//   <p>{org:O}:leases                                               zset reservationId -> deadline ms
//   <p>{org:O}:slices                                               zset slice holder -> deadline ms
//   <p>{org:O}:slice:<holderId>                                     hash kind+bucket key -> amount held
//   <p>{org:O}:usage                                                stream of usage events (field e)
//   <p>{org:O}:epoch                                                ms since which this org's counters are
//                                                                   all here; a counter missing from an
//                                                                   older window was lost: rebuild it

export const orgTag = (prefix: string, orgId: string): string => `${prefix}{org:${orgId}}`;
export const reservationKey = (prefix: string, orgId: string, id: string): string => `${orgTag(prefix, orgId)}:rsv:${id}`;
export const sliceLeaseSetKey = (prefix: string, orgId: string): string => `${orgTag(prefix, orgId)}:slices`;
export const sliceHashKey = (prefix: string, orgId: string, holderId: string): string => `${orgTag(prefix, orgId)}:slice:${holderId}`;
export const leaseSetKey = (prefix: string, orgId: string): string => `${orgTag(prefix, orgId)}:leases`;
// Settle appends here; the usage pipeline (src/usage/streams.ts) re-exports this name and reads it.
export const epochKey = (prefix: string, orgId: string): string => `${orgTag(prefix, orgId)}:epoch`;
export const usageStreamKey = (prefix: string, orgId: string): string => `${orgTag(prefix, orgId)}:usage`;
