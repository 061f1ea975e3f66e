/** The deployments table: one row per deployment, desired against actual, with its buttons. */
import { Badge, Box, Code, Link, List, Stack, Table, Text } from "@chakra-ui/react";
import type { ReactNode } from "react";
import { Link as RouterLink } from "react-router-dom";

import { ActionButtons } from "./actions";
import type { ActionEntry, Row } from "./api";
import { age, dash, utc } from "./format";
import { Age, AirflowLink, EmptyRow, ExternalLink, StateBadge, Tip, jobStatePalette, lifecyclePalette } from "./ui";

const COLUMNS: [string, string][] = [
  ["deployment (cluster)", "name"],
  ["declared", "declared"],
  ["lifecycle", "lifecycle"],
  ["job state", "job-state"],
  ["tasks running", "tasks"],
  ["job", "job"],
  ["checkpoint", "checkpoint"],
  ["last savepoint", "savepoint"],
  ["restarts", "restarts"],
  ["last action", "last-action"],
  ["desired vs actual", "drift"],
  ["attention", "attention"],
  ["actions", "actions"],
];

export function DeploymentTable({
  rows,
  fetchedAt,
  detailLink,
  empty = "no deployment matches",
}: {
  rows: Row[];
  fetchedAt: number;
  detailLink?: (name: string) => string; // the row's name opens its history
  empty?: string;
}) {
  return (
    <Table.ScrollArea borderWidth="1px" borderRadius="md">
      <Table.Root
        size="sm"
        variant="line"
        data-testid="deployments"
        whiteSpace="normal"
        css={{
          "& td": { verticalAlign: "top" },
          "& td, & th": { paddingInline: "1.5" },
          // The buttons stay in sight when a narrow window scrolls the table sideways.
          "& [data-sticky]": { position: "sticky", insetInlineEnd: 0, zIndex: 1, boxShadow: "inset 1px 0 0 var(--chakra-colors-border)" },
        }}
      >
        <Table.Header>
          <Table.Row bg="bg.subtle">
            {COLUMNS.map(([title, id]) => (
              <Table.ColumnHeader
                key={id}
                data-column={id}
                verticalAlign="bottom"
                data-sticky={id === "actions" ? "" : undefined}
                bg={id === "actions" ? "bg.subtle" : undefined}
              >
                {title}
              </Table.ColumnHeader>
            ))}
          </Table.Row>
        </Table.Header>
        <Table.Body>
          {rows.length === 0 ? (
            <EmptyRow columns={COLUMNS.length} testId="empty">
              {empty}
            </EmptyRow>
          ) : (
            rows.map((row) => (
              <DeploymentRow
                key={`${row.cluster}/${row.name}`}
                row={row}
                fetchedAt={fetchedAt}
                link={detailLink?.(row.name)}
              />
            ))
          )}
        </Table.Body>
      </Table.Root>
    </Table.ScrollArea>
  );
}

function Cell({
  id,
  children,
  minW,
  maxW,
  sticky,
  accent,
}: {
  id: string;
  children: ReactNode;
  minW?: string;
  maxW?: string;
  sticky?: string; // its background: a sticky cell must hide what scrolls under it
  accent?: string; // a bar at its start: the row needs attention
}) {
  return (
    <Table.Cell
      data-testid={id}
      minW={minW}
      maxW={maxW}
      overflowWrap={maxW ? "anywhere" : undefined}
      data-sticky={sticky ? "" : undefined}
      bg={sticky}
      boxShadow={accent ? `inset 3px 0 0 var(--chakra-colors-${accent.replace(".", "-")})` : undefined}
    >
      {children}
    </Table.Cell>
  );
}

function Muted({ children, testId }: { children: ReactNode; testId?: string }) {
  return (
    <Text as="div" fontSize="xs" color="fg.muted" data-testid={testId}>
      {children}
    </Text>
  );
}

export function DeploymentRow({ row, fetchedAt, link }: { row: Row; fetchedAt: number; link?: string }) {
  return (
    <Table.Row
      data-deployment={row.name}
      data-cluster={row.cluster}
      data-attention={row.attention ? "true" : "false"}
    >
      <Cell id="name" accent={row.attention ? "warning.solid" : undefined}>
        {link ? (
          <Link asChild color="fg.info" fontWeight="semibold">
            <RouterLink to={link}>{row.name}</RouterLink>
          </Link>
        ) : (
          <Text as="span" fontWeight="semibold">
            {row.name}
          </Text>
        )}
        <Muted testId="cluster">{row.cluster}</Muted>
      </Cell>
      <Cell id="declared" minW="7rem">
        <Declared row={row} fetchedAt={fetchedAt} />
      </Cell>
      <Cell id="lifecycle">
        <StateBadge value={row.lifecycle} palette={lifecyclePalette(row.lifecycle)} />
        {row.upgrade_in_flight ? <Muted>upgrade in flight</Muted> : null}
      </Cell>
      <Cell id="job-state">
        <StateBadge value={row.job_state} palette={jobStatePalette(row.job_state)} />
      </Cell>
      <Cell id="tasks">
        <Tasks row={row} />
      </Cell>
      <Cell id="job">
        <JobCell row={row} fetchedAt={fetchedAt} />
      </Cell>
      <Cell id="checkpoint">
        <Age seconds={row.checkpoint_age_s} fetchedAt={fetchedAt} />
      </Cell>
      <Cell id="savepoint">
        <Age seconds={row.last_savepoint_age_s} fetchedAt={fetchedAt} extra={row.last_savepoint} />
        {row.savepoint_in_progress ? <Muted>one in progress</Muted> : null}
      </Cell>
      <Cell id="restarts">
        <Restarts row={row} />
      </Cell>
      <Cell id="last-action" minW="8rem">
        <LastAction entry={row.last_action} />
      </Cell>
      <Cell id="drift" minW="12rem" maxW="16rem">
        <DesiredVsActual row={row} />
      </Cell>
      <Cell id="attention" minW="9rem" maxW="13rem">
        {row.attention ? (
          <Text as="div" color="fg.warning" data-testid="attention-text">
            {row.attention}
          </Text>
        ) : (
          "-"
        )}
        {row.root_cause ? (
          <Text as="div" fontSize="xs" color="fg.error" data-testid="root-cause">
            root cause: {row.root_cause}
          </Text>
        ) : null}
      </Cell>
      <Cell id="actions" minW="14rem" sticky="bg">
        <ActionButtons row={row} />
      </Cell>
    </Table.Row>
  );
}

function Declared({ row, fetchedAt }: { row: Row; fetchedAt: number }) {
  return (
    <Stack gap={1} align="flex-start">
      <Text as="span">
        {row.declared_state}, p={row.parallelism}, {row.upgrade_mode}
      </Text>
      {row.declared_hash || row.declared_hash_note ? (
        <Tip content={row.declared_hash_note ?? "the declared spec's hash"}>
          <Code size="sm" data-testid="declared-hash">
            {row.declared_hash ?? "hash unknown"}
          </Code>
        </Tip>
      ) : null}
      {row.held ? (
        <Tip content={`suspended from the page ${age(row.held_age_s)}: it stays suspended until "resume"`}>
          <Badge colorPalette="warning" variant="solid" data-testid="held">
            held
          </Badge>
        </Tip>
      ) : null}
      {row.held && row.held_age_s !== null ? <Age seconds={row.held_age_s} fetchedAt={fetchedAt} /> : null}
    </Stack>
  );
}

function ActualParallelism({ row }: { row: Row }) {
  const actual = row.actual_parallelism;
  if (actual === null || actual === undefined) {
    return (
      <Text as="span" data-testid="actual-parallelism">
        p=-
      </Text>
    );
  }
  const differs = actual !== row.parallelism;
  return (
    <Tip content={`the job's parallelism on Flink${differs ? `; declared p=${row.parallelism}` : ""}`}>
      <Text
        as="span"
        data-testid="actual-parallelism"
        color={differs ? "fg.warning" : undefined}
        fontWeight={differs ? "semibold" : undefined}
        whiteSpace="nowrap"
      >
        p={actual}
      </Text>
    </Tip>
  );
}

function Tasks({ row }: { row: Row }) {
  if (row.tasks_total === null || row.tasks_total === undefined) return <>-</>;
  return (
    <>
      <Text as="span" whiteSpace="nowrap">
        {dash(row.tasks_running)}/{row.tasks_total}
      </Text>
      {row.tasks_finished ? (
        <Text as="div" fontSize="xs" color="fg.muted" whiteSpace="nowrap">
          {row.tasks_finished} finished
        </Text>
      ) : null}
    </>
  );
}

function JobCell({ row, fetchedAt }: { row: Row; fetchedAt: number }) {
  const id = row.job?.id ?? row.job_id;
  if (!id) return <>-</>;
  const tag = row.job?.tag || `${id.slice(0, 12)}…`;
  const hover = [id, row.job?.spec ? `spec ${row.job.spec}` : "", row.job?.started_at ? `started ${utc(row.job.started_at)}` : ""]
    .filter(Boolean)
    .join("\n");
  const code = (
    <Code size="sm" data-testid="job-tag" data-job-id={id}>
      {tag}
    </Code>
  );
  return (
    <Stack gap={0.5} align="flex-start">
      <Tip content={hover}>{row.flink_url ? <ExternalLink href={row.flink_url}>{code}</ExternalLink> : code}</Tip>
      <Muted>
        <ActualParallelism row={row} />
        {row.job?.started_at ? (
          <>
            {" · started "}
            <Age seconds={fetchedAt / 1000 - row.job.started_at} at={row.job.started_at} fetchedAt={fetchedAt} />
          </>
        ) : null}
      </Muted>
      {row.job?.exceptions_url ? (
        <Text as="span" fontSize="xs">
          <ExternalLink href={row.job.exceptions_url}>exceptions</ExternalLink>
        </Text>
      ) : null}
    </Stack>
  );
}

function Restarts({ row }: { row: Row }) {
  const limit = row.restart_limit;
  const reached = row.restart_limit_reached === true;
  const window = row.restart_window_minutes;
  const text = limit === null || limit === undefined ? `${row.restarts_in_window}` : `${row.restarts_in_window} / ${limit}`;
  return (
    <Tip
      content={
        window !== null && window !== undefined
          ? `restarts the reconcile made within ${window} min${reached ? ": the limit is reached" : ""}`
          : "restarts the reconcile made within the spec's window"
      }
    >
      <Text
        as="span"
        whiteSpace="nowrap"
        color={reached ? "fg.error" : undefined}
        fontWeight={reached ? "semibold" : undefined}
        data-reached={reached ? "true" : "false"}
      >
        {text}
      </Text>
    </Tip>
  );
}

export function LastAction({ entry }: { entry: ActionEntry | null }) {
  if (!entry) return <>-</>;
  return (
    <Stack gap={0.5} align="flex-start">
      <Tip content={`${utc(entry.at)}: ${entry.detail}`}>
        <Box as="span" whiteSpace="nowrap">
          {entry.kind}{" "}
          <Badge colorPalette={entry.ok ? "success" : "failed"} variant="subtle" data-testid="last-action-outcome">
            {entry.ok ? "ok" : "failed"}
          </Badge>
        </Box>
      </Tip>
      <Text as="span" fontSize="xs" color="fg.muted" whiteSpace="nowrap">
        {age(entry.age_s)}
      </Text>
      {entry.task_log ? (
        <Text as="span" fontSize="xs">
          <AirflowLink path={entry.task_log}>task log</AirflowLink>
        </Text>
      ) : null}
    </Stack>
  );
}

function DesiredVsActual({ row }: { row: Row }) {
  const drift = row.drift ?? [];
  const next = row.next_step ?? [];
  let head: ReactNode = "-";
  if (drift.length > 0) {
    head = (
      <List.Root gap={0.5} ps={4} data-testid="drift-list">
        {drift.map((d) => (
          <List.Item key={d.field} data-field={d.field}>
            {d.text}
          </List.Item>
        ))}
      </List.Root>
    );
  } else if (row.in_sync === true) {
    head = (
      <Badge colorPalette="success" variant="subtle" data-testid="in-sync">
        in sync
      </Badge>
    );
  } else if (row.in_sync === false) {
    head = <Text as="span">not in sync</Text>;
  }
  return (
    <Stack gap={1} align="flex-start">
      {head}
      {row.why_not_applied ? (
        <Text as="div" fontSize="xs" color="fg.warning" data-testid="why-not-applied">
          {row.in_sync === true ? "nothing done: " : "not applied: "}
          {row.why_not_applied}
        </Text>
      ) : null}
      {next.length > 0 ? (
        <Box fontSize="xs" color="fg.muted" data-testid="next-step">
          next run:{" "}
          {next.map((step, i) => (
            <Text as="span" key={`${i}-${step}`} display="block">
              {step}
            </Text>
          ))}
        </Box>
      ) : null}
      {row.applied_hash ? (
        <Muted testId="applied-hash">
          applied <Code size="xs">{row.applied_hash}</Code>
        </Muted>
      ) : null}
    </Stack>
  );
}
