/**
 * The Flink page's JSON API (airflow_provider_flink/ui/app.py, mounted by the api-server at
 * {Airflow root}/flink/) and its types. Every field a newer provider adds is optional here: the
 * page shows "-" for what an older api-server does not send.
 */

export interface ActionEntry {
  at: number; // epoch seconds
  age_s: number;
  kind: string;
  ok: boolean;
  detail: string;
  job_id: string | null;
  task_log: string | null; // relative to the Airflow UI's root
}

export interface Drift {
  field: string;
  applied?: unknown;
  declared?: unknown;
  text: string; // "parallelism: 2 -> 1 (declared)"
}

export interface Job {
  id: string;
  tag?: string | null; // the part of the id that tells this deployment's jobs apart
  spec?: string | null;
  started_at?: number | null; // epoch seconds
  exceptions_url?: string | null;
}

export type ActionName = "savepoint" | "suspend" | "resume" | "retry" | "clear-restarts" | "reconcile";

export interface Row {
  name: string;
  cluster: string;
  declared_state: string;
  parallelism: number;
  upgrade_mode: string;
  job_id: string | null;
  job_state: string; // Flink's state; NONE (no job) or UNKNOWN (cluster not observed)
  lifecycle: string;
  tasks_running: number | null;
  tasks_total: number | null;
  tasks_finished: number | null;
  healthy?: boolean;
  applied_hash: string | null;
  checkpoint_age_s: number | null;
  last_savepoint: string | null;
  last_savepoint_age_s: number | null;
  restarts_in_window: number;
  failed_spec: string | null;
  upgrade_in_flight?: boolean;
  savepoint_in_progress: string | null;
  flink_url: string | null;
  attention: string | null;
  held: boolean;
  held_age_s: number | null;
  record_status?: string | null;
  last_action: ActionEntry | null;
  actions?: Partial<Record<string, string | null>>; // null: may start; else why it is refused
  declared_hash?: string | null;
  declared_hash_note?: string | null;
  actual_parallelism?: number | null;
  drift?: Drift[] | null;
  in_sync?: boolean | null;
  why_not_applied?: string | null;
  next_step?: string[] | null;
  job?: Job | null;
  restart_limit?: number | null;
  restart_window_minutes?: number | null;
  restart_limit_reached?: boolean | null;
  root_cause?: string | null;
}

export interface ListResponse {
  folder: string;
  deployments: Row[];
  invalid: string[];
  reconcile?: { dag_id?: string; paused?: boolean | null } | null;
  person?: { may_act?: boolean; why?: string | null } | null;
  action_labels?: Partial<Record<string, string>> | null;
}

export interface SavepointRow {
  path: string;
  taken_at: number;
  age_s: number;
  reason: string;
  job_id: string;
}

export interface History {
  actions: ActionEntry[];
  savepoints: SavepointRow[];
  rollbacks: ActionEntry[];
  held_by: string | null;
}

export interface DetailResponse {
  deployment: Row;
  history: History;
  person?: ListResponse["person"];
  action_labels?: ListResponse["action_labels"];
  reconcile?: ListResponse["reconcile"];
}

export interface Started {
  dag_id: string;
  dag_run_id: string;
  conf?: Record<string, unknown>;
}

/** The buttons, in their order, with the words the page used before the API named them. */
export const ACTIONS: ActionName[] = ["savepoint", "suspend", "resume", "retry", "clear-restarts", "reconcile"];
export const ACTION_LABELS: Record<string, string> = {
  savepoint: "savepoint now",
  suspend: "suspend",
  resume: "resume",
  retry: "retry the failed spec",
  "clear-restarts": "clear restarts",
  reconcile: "reconcile now",
};

export const RECONCILE_DAG = "flink_reconcile";

/**
 * The Airflow UI's root URL: the <base href> the api-server writes into the UI's page
 * ({Airflow root}/, the path of [api] base_url). The page cannot use its own script's URL: the UI
 * loads it with import(), where document.currentScript is null, and a UMD bundle has no
 * import.meta. Every API call and link is made from this root, so a base_url works.
 */
export function airflowRoot(): string {
  return new URL(".", document.baseURI).href;
}

export function apiUrl(path: string): string {
  return new URL(`flink/api/${path}`, airflowRoot()).href;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The words of an error answer: FastAPI's {"detail": ...} (a string, or a validation list). */
function detailOf(status: number, body: unknown, fallback: string): string {
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (typeof detail === "string") return detail;
  if (Array.isArray(detail)) {
    return detail
      .map((d) => (typeof d === "object" && d !== null && "msg" in d ? String((d as { msg: unknown }).msg) : String(d)))
      .join("; ");
  }
  return `HTTP ${status}${fallback ? `: ${fallback}` : ""}`;
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const answer = await fetch(apiUrl(path), {
    ...init,
    credentials: "same-origin", // the Airflow UI's _token cookie
    headers: { Accept: "application/json", ...(init.headers ?? {}) },
  });
  const text = await answer.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!answer.ok) throw new ApiError(answer.status, detailOf(answer.status, body, answer.statusText));
  return body as T;
}

export function listDeployments(signal?: AbortSignal): Promise<ListResponse> {
  return call<ListResponse>("deployments", { signal });
}

export function getDeployment(name: string, signal?: AbortSignal): Promise<DetailResponse> {
  return call<DetailResponse>(`deployments/${encodeURIComponent(name)}`, { signal });
}

export interface ChartPoint {
  at: number; // epoch seconds: the end of the interval
  seconds: number;
  up_s: number;
  down_s: number;
  uptime: number | null; // 0..1
  records_in_per_s: number | null;
  records_out_per_s: number | null;
  backpressure: number | null; // 0..1
  restarts: number | null; // Flink's
  provider_restarts: number; // the reconcile's
  checkpoints: number | null;
  checkpoints_failed: number | null;
  checkpoint_duration_ms: number | null;
  checkpoint_size_bytes: number | null;
}

export interface ChartsResponse {
  deployment: string;
  cluster: string;
  hours: number;
  every_s: number;
  kept: boolean;
  why?: string;
  since: number;
  until: number;
  samples: number;
  points: ChartPoint[];
  totals: {
    up_s: number;
    down_s: number;
    unknown_s: number;
    off_s: number;
    uptime: number | null;
    flink_restarts: number;
    provider_restarts: number;
    checkpoints: number;
    checkpoints_failed: number;
  };
}

export function getCharts(name: string, hours: number, signal?: AbortSignal): Promise<ChartsResponse> {
  return call<ChartsResponse>(`deployments/${encodeURIComponent(name)}/charts?hours=${hours}`, { signal });
}

export function startAction(name: string, action: string): Promise<Started> {
  return call<Started>(`deployments/${encodeURIComponent(name)}/${encodeURIComponent(action)}`, {
    method: "POST",
    headers: { "X-Requested-With": "flink-page" }, // the API refuses a POST without it
  });
}

/** The status filter, as status.py's DeploymentStatus.matches applies it on the server. */
export const STATUS_FILTERS: Record<string, string> = {
  all: "all",
  attention: "needs attention",
  running: "job running",
  "not-running": "job not running",
  suspended: "suspended",
};

export function suspended(row: Row): boolean {
  return row.lifecycle === "suspended" || row.held || row.declared_state === "suspended";
}

export function matches(row: Row, status: string): boolean {
  switch (status) {
    case "attention":
      return row.attention !== null && row.attention !== undefined;
    case "running":
      return row.job_state === "RUNNING";
    case "not-running":
      return row.job_state !== "RUNNING";
    case "suspended":
      return suspended(row);
    default:
      return true;
  }
}
