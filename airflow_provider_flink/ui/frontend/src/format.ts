/** Ages and times as the page shows them: "12 s ago", "3.4 min ago", "2.0 h ago", "1.5 d ago". */

export function age(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "-";
  for (const [unit, size] of [
    ["d", 86400],
    ["h", 3600],
    ["min", 60],
  ] as const) {
    if (seconds >= size) return `${(seconds / size).toFixed(1)} ${unit} ago`;
  }
  return `${Math.round(seconds)} s ago`;
}

/** "2025-01-31 12:00:00 UTC" from epoch seconds. */
export function utc(at: number | null | undefined): string {
  if (at === null || at === undefined || Number.isNaN(at)) return "";
  return new Date(at * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

/** When something happened, from its age in an answer received at `fetchedAt` (epoch ms). */
export function atFromAge(ageSeconds: number | null | undefined, fetchedAt: number): number | null {
  if (ageSeconds === null || ageSeconds === undefined) return null;
  return fetchedAt / 1000 - ageSeconds;
}

export function dash(value: unknown): string {
  return value === null || value === undefined || value === "" ? "-" : String(value);
}
