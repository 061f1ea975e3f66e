/**
 * A deployment's health over the last hours: uptime, records in and out per second,
 * back-pressure, restarts, checkpoint duration and size. Drawn as plain SVG in the theme's
 * colours (currentColor), from GET api/deployments/{name}/charts (the job watcher's samples).
 */
import { Box, HStack, NativeSelect, SimpleGrid, Stack, Text } from "@chakra-ui/react";
import { useCallback, useState } from "react";

import { getCharts, type ChartPoint, type ChartsResponse } from "./api";
import { utc } from "./format";
import { usePolling } from "./usePolling";

const WINDOWS = [1, 6, 24];
const W = 300;
const H = 80;

type Value = (p: ChartPoint) => number | null | undefined;

interface Line {
  label: string;
  value: Value;
  color: string; // a Chakra colour token
  bars?: boolean;
}

function fmt(value: number | null | undefined, unit: string): string {
  if (value === null || value === undefined || Number.isNaN(value)) return "-";
  if (unit === "%") {
    // 99.96 % is not "100.0 %": more digits until a value below 1 reads below 100.
    let digits = 1;
    while (digits < 4 && value < 1 && Number((value * 100).toFixed(digits)) >= 100) digits++;
    return `${(value * 100).toFixed(digits)} %`;
  }
  if (unit === "B") {
    for (const [u, size] of [
      ["GiB", 2 ** 30],
      ["MiB", 2 ** 20],
      ["KiB", 2 ** 10],
    ] as const) {
      if (value >= size) return `${(value / size).toFixed(1)} ${u}`;
    }
    return `${Math.round(value)} B`;
  }
  if (unit === "ms" && value >= 1000) return `${(value / 1000).toFixed(1)} s`;
  const digits = value >= 100 || Number.isInteger(value) ? 0 : 1;
  return `${value.toFixed(digits)}${unit ? ` ${unit}` : ""}`;
}

/** One small chart: a line (or bars) per series over the window, its peak and last value. */
function Chart({
  title,
  unit,
  lines,
  points,
  since,
  until,
  max,
  testId,
}: {
  title: string;
  unit: string;
  lines: Line[];
  points: ChartPoint[];
  since: number;
  until: number;
  max?: number;
  testId: string;
}) {
  const known = lines.flatMap((l) => points.map(l.value).filter((v): v is number => typeof v === "number"));
  const top = max ?? Math.max(1e-9, ...known);
  const x = (at: number) => ((at - since) / Math.max(1, until - since)) * W;
  const y = (v: number) => H - (Math.min(v, top) / top) * (H - 4) - 2;
  const last = (l: Line) => {
    for (let i = points.length - 1; i >= 0; i--) {
      const v = l.value(points[i]);
      if (typeof v === "number") return v;
    }
    return null;
  };
  return (
    <Stack gap={1} borderWidth="1px" borderRadius="md" p={2} data-testid={testId}>
      <HStack justify="space-between" gap={2}>
        <Text fontWeight="semibold">{title}</Text>
        <Text color="fg.muted" fontSize="xs">
          {known.length ? `max ${fmt(Math.max(...known), unit)}` : "no data"}
        </Text>
      </HStack>
      <Box asChild w="100%" h="80px">
        <svg viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={title}>
        <line x1={0} x2={W} y1={H - 1} y2={H - 1} stroke="currentColor" strokeOpacity={0.2} />
        {lines.map((l, series) => (
          <Box asChild key={l.label} color={l.color}>
            <g>
            {l.bars
              ? points.map((p, i) => {
                  const v = l.value(p);
                  if (typeof v !== "number" || v <= 0) return null;
                  // Bars of several series side by side in their interval: none hides another.
                  const bars = lines.filter((other) => other.bars).length;
                  const w = Math.max(2, (p.seconds / Math.max(1, until - since)) * W) / bars;
                  const left = x(p.at) - w * (bars - series);
                  return <rect key={i} x={left} y={y(v)} width={w} height={H - 2 - y(v)} fill="currentColor" />;
                })
              : segments(points, l.value).map((seg, i) =>
                  seg.length === 1 ? (
                    <circle key={i} cx={x(seg[0][0])} cy={y(seg[0][1])} r={1.5} fill="currentColor" />
                  ) : (
                    <polyline
                      key={i}
                      points={seg.map(([at, v]) => `${x(at).toFixed(1)},${y(v).toFixed(1)}`).join(" ")}
                      fill="none"
                      stroke="currentColor"
                      strokeWidth={1.5}
                      vectorEffect="non-scaling-stroke"
                    />
                  ),
                )}
            </g>
          </Box>
        ))}
        </svg>
      </Box>
      <HStack gap={3} fontSize="xs" flexWrap="wrap">
        {lines.map((l) => (
          <HStack key={l.label} gap={1}>
            <Box w="10px" h="3px" bg={l.color} borderRadius="full" />
            <Text>
              {l.label}: {fmt(last(l), unit)}
            </Text>
          </HStack>
        ))}
      </HStack>
    </Stack>
  );
}

/** Runs of consecutive known values: a gap (no sample, or unknown) breaks the line. */
function segments(points: ChartPoint[], value: Value): [number, number][][] {
  const out: [number, number][][] = [];
  let run: [number, number][] = [];
  let previous: ChartPoint | null = null;
  for (const p of points) {
    const v = value(p);
    const gap = previous !== null && p.at - previous.at > 2.5 * p.seconds;
    if (typeof v !== "number" || gap) {
      if (run.length) out.push(run);
      run = [];
    }
    if (typeof v === "number") run.push([p.at, v]);
    previous = p;
  }
  if (run.length) out.push(run);
  return out;
}

export function HealthCharts({ name }: { name: string }) {
  const [hours, setHours] = useState(6);
  const load = useCallback((signal: AbortSignal) => getCharts(name, hours, signal), [name, hours]);
  const polled = usePolling<ChartsResponse>(load, `${name}/${hours}`);
  const data = polled.data;
  const points = data?.points ?? [];
  // The x axis spans the window, or the samples when they cover less of it (a new deployment,
  // a watcher started recently): a few minutes of data are drawn across the chart, not in a sliver.
  const first = points.length ? points[0].at - points[0].seconds : null;
  const since = Math.max(data?.since ?? 0, first ?? 0);
  const until = data?.until ?? 1;
  const t = data?.totals;
  const common = { points, since, until };
  return (
    <Stack gap={2} data-testid="charts">
      <HStack gap={3} flexWrap="wrap">
        <NativeSelect.Root size="xs" width="auto">
          <NativeSelect.Field
            aria-label="window"
            data-testid="charts-window"
            value={String(hours)}
            onChange={(event) => setHours(Number(event.currentTarget.value))}
          >
            {WINDOWS.map((h) => (
              <option key={h} value={h}>
                last {h} h
              </option>
            ))}
          </NativeSelect.Field>
          <NativeSelect.Indicator />
        </NativeSelect.Root>
        {t ? (
          <Text data-testid="charts-summary">
            uptime {fmt(t.uptime, "%")} · down {Math.round(t.down_s)} s
            {t.unknown_s >= 1 ? ` · unknown ${Math.round(t.unknown_s)} s (Flink did not answer)` : ""}
            {t.off_s >= 1 ? ` · suspended ${Math.round(t.off_s)} s` : ""} · restarts {t.flink_restarts} by Flink,{" "}
            {t.provider_restarts} by the reconcile · checkpoints {t.checkpoints} ({t.checkpoints_failed} failed) ·{" "}
            {data?.samples ?? 0} samples, one every {data?.every_s ?? "-"} s
          </Text>
        ) : null}
        {polled.error ? (
          <Text color="fg.error" data-testid="charts-error">
            charts not loaded: {polled.error}
          </Text>
        ) : null}
      </HStack>
      {data?.why ? (
        <Text color="fg.muted" data-testid="charts-why">
          {data.why}
        </Text>
      ) : null}
      {points.length ? (
        <>
          <SimpleGrid columns={{ base: 1, md: 2, xl: 3 }} gap={3}>
            <Chart title="Uptime" unit="%" max={1} testId="chart-uptime" {...common}
              lines={[{ label: "up", value: (p) => p.uptime, color: "green.500" }]} />
            <Chart title="Records per second" unit="/s" testId="chart-records" {...common}
              lines={[
                { label: "in", value: (p) => p.records_in_per_s, color: "blue.500" },
                { label: "out", value: (p) => p.records_out_per_s, color: "purple.500" },
              ]} />
            <Chart title="Back-pressure" unit="%" max={1} testId="chart-backpressure" {...common}
              lines={[{ label: "most back-pressured vertex (mean of its subtasks)", value: (p) => p.backpressure, color: "orange.500" }]} />
            <Chart title="Restarts" unit="" testId="chart-restarts" {...common}
              lines={[
                { label: "by Flink", value: (p) => p.restarts, color: "red.500", bars: true },
                { label: "by the reconcile", value: (p) => p.provider_restarts, color: "yellow.500", bars: true },
              ]} />
            <Chart title="Checkpoint duration" unit="ms" testId="chart-checkpoint-duration" {...common}
              lines={[{ label: "latest", value: (p) => p.checkpoint_duration_ms, color: "teal.500" }]} />
            <Chart title="Checkpoint size (full state)" unit="B" testId="chart-checkpoint-size" {...common}
              lines={[{ label: "latest", value: (p) => p.checkpoint_size_bytes, color: "cyan.500" }]} />
          </SimpleGrid>
          <Text color="fg.muted" fontSize="xs">
            {utc(since)} to {utc(until)}
          </Text>
        </>
      ) : null}
    </Stack>
  );
}
