/** A network error in a few words: "connection refused", "no such host: db.internal". */
export function describeNetworkError(error: NodeJS.ErrnoException & { hostname?: string }): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `no such host: ${error.hostname ?? '?'}`;
    case 'EHOSTUNREACH':
      return 'host unreachable';
    case 'ENETUNREACH':
      return 'network unreachable';
    case 'ETIMEDOUT':
      return 'timed out';
    case 'EPIPE':
      return 'connection closed';
    default:
      if (error.code?.startsWith('ERR_TLS') || /certificate|SSL|TLS/i.test(error.message))
        return `TLS: ${error.message}`;
      return error.code ? `${error.code}: ${error.message}` : error.message;
  }
}
