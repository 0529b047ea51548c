/**
 * The expected failures of the key-value store, as values (STYLE.md, habit 7).
 *
 * Each carries etcd's exact gRPC status message and code, taken from
 * etcd's `api/v3rpc/rpctypes/error.go`, so the server can put them on the wire
 * unchanged and etcd clients recognise them (clientv3 matches on the text).
 */

/** gRPC status codes used by these errors (google.golang.org/grpc/codes). */
export const GRPC_STATUS = {
  InvalidArgument: 3,
  NotFound: 5,
  ResourceExhausted: 8,
  FailedPrecondition: 9,
  OutOfRange: 11,
} as const;

export type GrpcStatusName = keyof typeof GRPC_STATUS;

export type KvErrorKind =
  | 'empty-key'
  | 'key-not-found'
  | 'value-provided'
  | 'lease-provided'
  | 'too-many-ops'
  | 'duplicate-key'
  | 'compacted'
  | 'future-revision'
  | 'lease-not-found'
  | 'lease-exists'
  | 'lease-ttl-too-large'
  | 'request-too-large';

export interface KvError {
  readonly kind: KvErrorKind;
  /** etcd's status message, byte for byte. */
  readonly message: string;
  readonly status: GrpcStatusName;
  readonly statusCode: number;
}

const TABLE: Record<KvErrorKind, readonly [GrpcStatusName, string]> = {
  'empty-key': ['InvalidArgument', 'etcdserver: key is not provided'],
  'key-not-found': ['InvalidArgument', 'etcdserver: key not found'],
  'value-provided': ['InvalidArgument', 'etcdserver: value is provided'],
  'lease-provided': ['InvalidArgument', 'etcdserver: lease is provided'],
  'too-many-ops': ['InvalidArgument', 'etcdserver: too many operations in txn request'],
  'duplicate-key': ['InvalidArgument', 'etcdserver: duplicate key given in txn request'],
  compacted: ['OutOfRange', 'etcdserver: mvcc: required revision has been compacted'],
  'future-revision': ['OutOfRange', 'etcdserver: mvcc: required revision is a future revision'],
  'lease-not-found': ['NotFound', 'etcdserver: requested lease not found'],
  'lease-exists': ['FailedPrecondition', 'etcdserver: lease already exists'],
  'lease-ttl-too-large': ['OutOfRange', 'etcdserver: too large lease TTL'],
  'request-too-large': ['InvalidArgument', 'etcdserver: request is too large'],
};

const ERRORS = new Map<KvErrorKind, KvError>(
  (Object.keys(TABLE) as KvErrorKind[]).map((kind) => {
    const [status, message] = TABLE[kind];
    return [kind, Object.freeze({ kind, message, status, statusCode: GRPC_STATUS[status] })];
  }),
);

export function kvError(kind: KvErrorKind): KvError {
  return ERRORS.get(kind) as KvError;
}

/** Either a value or an expected failure. */
export type KvResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: KvError };

export function ok<T>(value: T): KvResult<T> {
  return { ok: true, value };
}

export function failed<T>(kind: KvErrorKind): KvResult<T> {
  return { ok: false, error: kvError(kind) };
}
