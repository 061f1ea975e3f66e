/**
 * The page's actions: each button starts one flink_reconcile run (POST .../{name}/{action});
 * one the API would refuse is disabled with its reason on hover; "suspend" asks first. What the
 * API answered (the run, or why not) shows above the table.
 */
import { Alert, Box, Button, CloseButton, Dialog, Portal, Stack, VisuallyHidden } from "@chakra-ui/react";
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from "react";

import { ACTION_LABELS, ACTIONS, ApiError, RECONCILE_DAG, startAction, type Row } from "./api";
import { AirflowLink, Tip } from "./ui";

export interface Outcome {
  ok: boolean;
  name: string;
  label: string;
  runId?: string;
  dagId?: string;
  detail?: string;
}

interface Runner {
  labels: Record<string, string>;
  busy: string | null; // "name/action" while its POST is on its way
  ask: (row: Row, action: string) => void;
}

const RunnerContext = createContext<Runner>({ labels: ACTION_LABELS, busy: null, ask: () => undefined });

export function ActionRunner({
  labels,
  onDone,
  children,
}: {
  labels: Partial<Record<string, string>> | null | undefined;
  onDone: () => void; // reload what the page shows
  children: (outcome: ReactNode) => ReactNode;
}) {
  const merged = useMemo(() => ({ ...ACTION_LABELS, ...(labels ?? {}) }) as Record<string, string>, [labels]);
  const [busy, setBusy] = useState<string | null>(null);
  const [outcome, setOutcome] = useState<Outcome | null>(null);
  const [confirm, setConfirm] = useState<{ name: string; action: string } | null>(null);

  const post = useCallback(
    async (name: string, action: string) => {
      const label = merged[action] ?? action;
      setBusy(`${name}/${action}`);
      try {
        const started = await startAction(name, action);
        setOutcome({ ok: true, name, label, runId: started.dag_run_id, dagId: started.dag_id ?? RECONCILE_DAG });
      } catch (error) {
        const detail = error instanceof ApiError ? error.message : String(error);
        setOutcome({ ok: false, name, label, detail });
      } finally {
        setBusy(null);
        onDone();
      }
    },
    [merged, onDone],
  );

  const ask = useCallback(
    (row: Row, action: string) => {
      if (action === "suspend") setConfirm({ name: row.name, action });
      else void post(row.name, action);
    },
    [post],
  );

  const runner = useMemo(() => ({ labels: merged, busy, ask }), [merged, busy, ask]);
  return (
    <RunnerContext.Provider value={runner}>
      {children(outcome ? <OutcomeAlert outcome={outcome} onClose={() => setOutcome(null)} /> : null)}
      <Dialog.Root
        open={confirm !== null}
        onOpenChange={(details) => !details.open && setConfirm(null)}
        role="alertdialog"
        placement="center"
      >
        <Portal>
          <Dialog.Backdrop />
          <Dialog.Positioner>
            <Dialog.Content data-testid="confirm-suspend">
              <Dialog.Header>
                <Dialog.Title>Suspend {confirm?.name}?</Dialog.Title>
              </Dialog.Header>
              <Dialog.Body>
                Its job stops with a savepoint and stays stopped, whatever its file declares, until
                &quot;resume&quot;.
              </Dialog.Body>
              <Dialog.Footer>
                <Dialog.ActionTrigger asChild>
                  <Button variant="outline" size="sm">
                    Cancel
                  </Button>
                </Dialog.ActionTrigger>
                <Button
                  colorPalette="danger"
                  size="sm"
                  data-testid="confirm-suspend-button"
                  onClick={() => {
                    const asked = confirm;
                    setConfirm(null);
                    if (asked) void post(asked.name, asked.action);
                  }}
                >
                  {merged.suspend ?? "suspend"}
                </Button>
              </Dialog.Footer>
              <Dialog.CloseTrigger asChild>
                <CloseButton size="sm" />
              </Dialog.CloseTrigger>
            </Dialog.Content>
          </Dialog.Positioner>
        </Portal>
      </Dialog.Root>
    </RunnerContext.Provider>
  );
}

function OutcomeAlert({ outcome, onClose }: { outcome: Outcome; onClose: () => void }) {
  return (
    <Alert.Root
      status={outcome.ok ? "success" : "error"}
      data-testid="action-result"
      data-run={outcome.runId ?? ""}
      role="status"
    >
      <Alert.Indicator />
      <Alert.Content>
        <Alert.Description>
          {outcome.ok ? (
            <>
              Started {outcome.dagId} run <code>{outcome.runId}</code> for {outcome.name}: {outcome.label}.{" "}
              <AirflowLink
                path={`dags/${encodeURIComponent(outcome.dagId ?? RECONCILE_DAG)}/runs/${encodeURIComponent(
                  outcome.runId ?? "",
                )}`}
              >
                Open the run
              </AirflowLink>
            </>
          ) : (
            <>Not started: {outcome.detail}</>
          )}
        </Alert.Description>
      </Alert.Content>
      <CloseButton size="sm" onClick={onClose} aria-label="dismiss" />
    </Alert.Root>
  );
}

/** Every action the API names, in the page's order: enabled when it may start, else the reason. */
export function ActionButtons({ row }: { row: Row }) {
  const { labels, busy, ask } = useContext(RunnerContext);
  const known = row.actions ?? {};
  const names = [...ACTIONS.filter((a) => a in known), ...Object.keys(known).filter((a) => !ACTIONS.includes(a as never))];
  if (names.length === 0) return <>-</>;
  return (
    <Stack direction="row" gap={1} flexWrap="wrap" maxW="15rem">
      {names.map((action) => {
        const refused = known[action];
        const label = labels[action] ?? action;
        const button = (
          <Button
            size="xs"
            variant="outline"
            colorPalette={action === "suspend" ? "danger" : "brand"}
            disabled={Boolean(refused) || busy !== null}
            loading={busy === `${row.name}/${action}`}
            pointerEvents={refused ? "none" : undefined}
            data-deployment={row.name}
            data-action={action}
            data-refused={refused ?? undefined}
            onClick={() => ask(row, action)}
          >
            {label}
          </Button>
        );
        return refused ? (
          <Tip key={action} content={refused} focusable>
            {button}
            <VisuallyHidden>{`: not available, ${refused}`}</VisuallyHidden>
          </Tip>
        ) : (
          <Box as="span" key={action}>
            {button}
          </Box>
        );
      })}
    </Stack>
  );
}
