/**
 * The Flink page: the deployments list and, with ?deployment=<name>, one deployment's history.
 * Filters and the open deployment live in the URL's query (the Airflow UI mounts the page at
 * {root}/plugin/flink and remounts a plugin when its path changes, not when its query does).
 */
import {
  Alert,
  Box,
  Button,
  Code,
  Heading,
  HStack,
  Link,
  List,
  NativeSelect,
  Spinner,
  Stack,
  Table,
  Text,
} from "@chakra-ui/react";
import { useCallback, useEffect, useMemo, useState, type ReactNode } from "react";
import { Link as RouterLink, useSearchParams } from "react-router-dom";

import { ActionRunner } from "./actions";
import { HealthCharts } from "./charts";
import {
  getDeployment,
  listDeployments,
  matches,
  RECONCILE_DAG,
  STATUS_FILTERS,
  type ActionEntry,
  type DetailResponse,
  type ListResponse,
} from "./api";
import { age, utc } from "./format";
import { DeploymentTable } from "./table";
import { AirflowLink, EmptyRow, StateBadge, Tip } from "./ui";
import { REFRESH_SECONDS, usePolling, type Polled } from "./usePolling";

// Rows drawn at once ("show more" adds as many): 50, as Airflow's own lists page theirs. A page of
// 1,000 deployments is drawn in about a second; "needs attention" filters to what matters.
const PAGE_ROWS = 50;

export function FlinkApp() {
  const [params, setParams] = useSearchParams();
  const name = params.get("deployment");
  return (
    <Box data-testid="flink-page" p={4} h="100%" overflowY="auto" fontSize="sm">
      {name ? (
        <DetailView name={name} params={params} />
      ) : (
        <ListView params={params} setParams={setParams} />
      )}
    </Box>
  );
}

type SetParams = ReturnType<typeof useSearchParams>[1];

function withParams(params: URLSearchParams, change: Record<string, string | null>): string {
  const next = new URLSearchParams(params);
  for (const [key, value] of Object.entries(change)) {
    if (value === null || value === "") next.delete(key);
    else next.set(key, value);
  }
  const text = next.toString();
  return text ? `?${text}` : "?";
}

/** "updated 4 s ago", a refresh button, a spinner while loading. */
function RefreshBar({ polled }: { polled: Polled<unknown> }) {
  const [, tick] = useState(0);
  useEffect(() => {
    const timer = window.setInterval(() => tick((n) => n + 1), 1000);
    return () => window.clearInterval(timer);
  }, []);
  return (
    <HStack gap={3}>
      {polled.loading ? <Spinner size="sm" data-testid="loading" /> : null}
      <Text color="fg.muted" fontSize="xs" data-testid="updated">
        {polled.data ? `updated ${age((Date.now() - polled.fetchedAt) / 1000)}` : ""} (every {REFRESH_SECONDS} s)
      </Text>
      <Button size="xs" variant="outline" onClick={polled.refresh} data-testid="refresh" disabled={polled.loading}>
        refresh
      </Button>
    </HStack>
  );
}

function LoadError({ polled }: { polled: Polled<unknown> }) {
  if (!polled.error) return null;
  const denied = polled.status === 401 || polled.status === 403;
  return (
    <Alert.Root status="error" data-testid="load-error">
      <Alert.Indicator />
      <Alert.Content>
        <Alert.Title>
          {denied ? "Not allowed: reading the page needs read access to the flink_reconcile DAG's runs" : "Could not load"}
        </Alert.Title>
        <Alert.Description>{polled.error}</Alert.Description>
      </Alert.Content>
    </Alert.Root>
  );
}

function Banners({ data }: { data: Pick<ListResponse, "reconcile" | "person"> }) {
  const paused = data.reconcile?.paused === true;
  const dag = data.reconcile?.dag_id ?? RECONCILE_DAG;
  const mayNotAct = data.person?.may_act === false;
  return (
    <>
      {paused ? (
        <Alert.Root status="warning" data-testid="reconcile-paused">
          <Alert.Indicator />
          <Alert.Content>
            <Alert.Description>
              The <AirflowLink path={`dags/${encodeURIComponent(dag)}`}>{dag}</AirflowLink> DAG is paused:
              nothing declared is applied until it is unpaused.
            </Alert.Description>
          </Alert.Content>
        </Alert.Root>
      ) : null}
      {mayNotAct ? (
        <Alert.Root status="info" data-testid="may-not-act">
          <Alert.Indicator />
          <Alert.Content>
            <Alert.Description>
              You may look, not act{data.person?.why ? `: ${data.person.why}` : ""}. The buttons say why on
              hover.
            </Alert.Description>
          </Alert.Content>
        </Alert.Root>
      ) : null}
    </>
  );
}

function ListView({ params, setParams }: { params: URLSearchParams; setParams: SetParams }) {
  const polled = usePolling<ListResponse>(listDeployments, "list");
  const [shown, setShown] = useState(PAGE_ROWS);
  const cluster = params.get("cluster") ?? "";
  const status = params.get("attention") === "true" ? "attention" : (params.get("status") ?? "all");
  const data = polled.data;

  const clusters = useMemo(
    () => [...new Set([...(data?.deployments ?? []).map((r) => r.cluster), ...(cluster ? [cluster] : [])])].sort(),
    [data, cluster],
  );
  const rows = useMemo(
    () => (data?.deployments ?? []).filter((r) => (!cluster || r.cluster === cluster) && matches(r, status)),
    [data, cluster, status],
  );
  const setFilter = (key: string, value: string) => {
    setShown(PAGE_ROWS);
    setParams(
      (current) => {
        const next = new URLSearchParams(current);
        next.delete("attention"); // the first version's filter: now status=attention
        if (value && value !== "all") next.set(key, value);
        else next.delete(key);
        return next;
      },
      { replace: true },
    );
  };
  const detailLink = useCallback((name: string) => withParams(params, { deployment: name }), [params]);

  return (
    <ActionRunner labels={data?.action_labels} onDone={polled.refresh}>
      {(outcome) => (
        <Stack gap={4}>
          <HStack justify="space-between" align="flex-start" flexWrap="wrap" gap={2}>
            <Stack gap={1}>
              <Heading size="lg" as="h1">
                Flink deployments
              </Heading>
              <Text color="fg.muted" data-testid="folder">
                {data ? (
                  <>
                    Declared in <Code size="sm">{data.folder}</Code>: {rows.length} shown of {data.deployments.length}.
                    Actions start a run of the{" "}
                    <AirflowLink path={`dags/${RECONCILE_DAG}`}>{RECONCILE_DAG}</AirflowLink> DAG; its task log says what
                    it did.
                  </>
                ) : (
                  " "
                )}
              </Text>
            </Stack>
            <RefreshBar polled={polled} />
          </HStack>

          <HStack gap={4} flexWrap="wrap" data-testid="filters">
            <Filter
              label="Cluster"
              id="flink-cluster"
              value={cluster}
              onChange={(v) => setFilter("cluster", v)}
              options={[["", "all"], ...clusters.map((c): [string, string] => [c, c])]}
            />
            <Filter
              label="Status"
              id="flink-status"
              value={status}
              onChange={(v) => setFilter("status", v)}
              options={Object.entries(STATUS_FILTERS)}
            />
          </HStack>

          <LoadError polled={polled} />
          {data ? <Banners data={data} /> : null}
          {outcome}

          {data ? (
            <>
              <DeploymentTable rows={rows.slice(0, shown)} fetchedAt={polled.fetchedAt} detailLink={detailLink} />
              {rows.length > shown ? (
                <HStack>
                  <Text color="fg.muted">
                    {shown} of {rows.length} shown.
                  </Text>
                  <Button size="xs" variant="outline" onClick={() => setShown(shown + PAGE_ROWS)}>
                    show {Math.min(PAGE_ROWS, rows.length - shown)} more
                  </Button>
                </HStack>
              ) : null}
              {data.invalid.length > 0 ? (
                <Stack gap={1} data-testid="invalid-files">
                  <Heading size="md" as="h2">
                    Files that do not parse
                  </Heading>
                  <List.Root ps={5}>
                    {data.invalid.map((problem) => (
                      <List.Item key={problem}>
                        <Code size="sm" whiteSpace="pre-wrap" wordBreak="break-word">
                          {problem}
                        </Code>
                      </List.Item>
                    ))}
                  </List.Root>
                </Stack>
              ) : null}
            </>
          ) : polled.error ? null : (
            <Spinner />
          )}
        </Stack>
      )}
    </ActionRunner>
  );
}

function Filter({
  label,
  id,
  value,
  options,
  onChange,
}: {
  label: string;
  id: string;
  value: string;
  options: [string, string][];
  onChange: (value: string) => void;
}) {
  return (
    <HStack gap={2}>
      <Text asChild fontWeight="medium">
        <label htmlFor={id}>{label}</label>
      </Text>
      <NativeSelect.Root size="sm" width="auto" minW="10rem">
        <NativeSelect.Field id={id} data-testid={id} value={value} onChange={(e) => onChange(e.currentTarget.value)}>
          {options.map(([v, text]) => (
            <option key={v} value={v}>
              {text}
            </option>
          ))}
        </NativeSelect.Field>
        <NativeSelect.Indicator />
      </NativeSelect.Root>
    </HStack>
  );
}

function DetailView({ name, params }: { name: string; params: URLSearchParams }) {
  const load = useCallback((signal: AbortSignal) => getDeployment(name, signal), [name]);
  const polled = usePolling<DetailResponse>(load, name);
  const data = polled.data;
  const row = data?.deployment;
  const past = data?.history;
  const back = withParams(params, { deployment: null });

  const notes: ReactNode[] = [];
  if (row?.held) {
    notes.push(
      <>
        Suspended from the page {age(row.held_age_s)}
        {past?.held_by ? (
          <>
            {" "}
            (recorded by <Code size="sm">{past.held_by}</Code>)
          </>
        ) : null}
        : it stays suspended until resumed.
      </>,
    );
  }
  if (row?.savepoint_in_progress) {
    notes.push(
      <>
        A savepoint is in progress (Flink trigger <Code size="sm">{row.savepoint_in_progress}</Code>).
      </>,
    );
  }
  if (row?.failed_spec) notes.push(<>The declared spec was rolled back: {row.failed_spec}.</>);
  if (row?.declared_hash_note) notes.push(<>Declared spec: {row.declared_hash_note}.</>);

  return (
    <ActionRunner labels={data?.action_labels} onDone={polled.refresh}>
      {(outcome) => (
        <Stack gap={4}>
          <Link asChild color="fg.info" fontSize="sm" data-testid="back">
            <RouterLink to={back}>
              ← all deployments
            </RouterLink>
          </Link>
          <HStack justify="space-between" align="flex-start" flexWrap="wrap" gap={2}>
            <Heading size="lg" as="h1">
              Flink deployment {name}
            </Heading>
            <RefreshBar polled={polled} />
          </HStack>
          <LoadError polled={polled} />
          {data ? <Banners data={data} /> : null}
          {outcome}
          {row && past ? (
            <>
              <DeploymentTable rows={[row]} fetchedAt={polled.fetchedAt} />
              {notes.length > 0 ? (
                <Stack gap={1} data-testid="notes">
                  {notes.map((note, i) => (
                    <Text key={i}>{note}</Text>
                  ))}
                </Stack>
              ) : null}
              <Section title="Over the last hours" testId="history-charts">
                <HealthCharts name={name} />
              </Section>
              <Section title="Actions" testId="history-actions">
                <ActionsTable entries={past.actions} empty="no action recorded" />
              </Section>
              <Section title="Savepoints" testId="history-savepoints">
                <SmallTable
                  head={["taken", "age", "reason", "job", "path"]}
                  empty="no savepoint recorded"
                  rows={past.savepoints.map((s) => [
                    <Text as="span" whiteSpace="nowrap">
                      {utc(s.taken_at)}
                    </Text>,
                    <Text as="span" whiteSpace="nowrap">
                      {age(s.age_s)}
                    </Text>,
                    s.reason,
                    <Code size="sm">{s.job_id}</Code>,
                    <Code size="sm" whiteSpace="pre-wrap" wordBreak="break-all">
                      {s.path}
                    </Code>,
                  ])}
                />
              </Section>
              <Section title="Rollbacks" testId="history-rollbacks">
                <ActionsTable entries={past.rollbacks} empty="no rollback" />
              </Section>
            </>
          ) : polled.error ? null : (
            <Spinner />
          )}
        </Stack>
      )}
    </ActionRunner>
  );
}

function Section({ title, testId, children }: { title: string; testId: string; children: ReactNode }) {
  return (
    <Stack gap={2} data-testid={testId}>
      <Heading size="md" as="h2">
        {title}
      </Heading>
      {children}
    </Stack>
  );
}

function ActionsTable({ entries, empty }: { entries: ActionEntry[]; empty: string }) {
  return (
    <SmallTable
      head={["time", "action", "outcome", "detail", "job", "task log"]}
      empty={empty}
      rows={entries.map((a) => [
        <Tip content={age(a.age_s)}>
          <Text as="span" whiteSpace="nowrap">
            {utc(a.at)}
          </Text>
        </Tip>,
        a.kind,
        <StateBadge value={a.ok ? "ok" : "failed"} palette={a.ok ? "success" : "failed"} />,
        <Text as="span" whiteSpace="pre-wrap" wordBreak="break-word">
          {a.detail}
        </Text>,
        a.job_id ? <Code size="sm">{a.job_id}</Code> : "-",
        a.task_log ? <AirflowLink path={a.task_log}>task log</AirflowLink> : "-",
      ])}
    />
  );
}

function SmallTable({ head, rows, empty }: { head: string[]; rows: ReactNode[][]; empty: string }) {
  return (
    <Table.ScrollArea borderWidth="1px" borderRadius="md">
      <Table.Root size="sm" variant="line" whiteSpace="normal" css={{ "& td": { verticalAlign: "top" } }}>
        <Table.Header>
          <Table.Row bg="bg.subtle">
            {head.map((h) => (
              <Table.ColumnHeader key={h} whiteSpace="nowrap">
                {h}
              </Table.ColumnHeader>
            ))}
          </Table.Row>
        </Table.Header>
        <Table.Body>
          {rows.length === 0 ? (
            <EmptyRow columns={head.length}>{empty}</EmptyRow>
          ) : (
            rows.map((cells, i) => (
              <Table.Row key={i}>
                {cells.map((cell, j) => (
                  <Table.Cell key={j}>{cell}</Table.Cell>
                ))}
              </Table.Row>
            ))
          )}
        </Table.Body>
      </Table.Root>
    </Table.ScrollArea>
  );
}
