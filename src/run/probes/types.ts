/** The outcome of one health check, and of one probe round (all checks of a service, concurrently). */
export interface CheckResult {
  kind: 'http' | 'tcp' | 'exec' | 'postgres' | 'redis' | 'log';
  /** What was checked, for people: "GET http://127.0.0.1:8080/healthz", "127.0.0.1:5432", "pg_isready". */
  target: string;
  ok: boolean;
  /** One line: "200 OK", "connection refused", "status 503, expected 2xx", "timed out after 2s". */
  detail: string;
  durationMs: number;
}

export interface RoundResult {
  ok: boolean;
  checks: CheckResult[];
  durationMs: number;
}
