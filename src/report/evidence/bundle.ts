import { planDigest } from '../../plan/digest.js';
import type { ResolvedPlan } from '../../plan/model.js';
import type { Redactor } from '../../run/redact.js';
import type { InboxApproval, InboxProblem } from '../../run/state/approvals-inbox.js';
import type { JournalEntry } from '../../run/state/journal/format.js';
import type { RunSnapshot } from '../../run/state/journal/state.js';
import { renderPlanJson } from '../plan/json.js';
import { type OutputTails, REPORT_FORMATS } from '../report/formats.js';
import { rtoTable } from '../rto.js';
import { MANIFEST, renderManifest } from './manifest.js';
import type { BundleEntry } from './tar.js';
import { JOURNAL } from './verify.js';

/** What a bundle is made of, read from the plan's state by the `evidence` command. */
export interface EvidenceSources {
  run: RunSnapshot;
  /** The journal's text, as it is on disk. */
  journal: string;
  /** Its entries (parsed once from `journal`). */
  entries: readonly JournalEntry[];
  /** What `restore audit verify` says of the journal, the path written as `journal.jsonl`. */
  verification: string;
  /** The run log's text; undefined when there is none. */
  log: string | undefined;
  /** The plan as applied: the file's text, and the resolved plan its digest was taken over. */
  plan: { text: string | undefined; display: ResolvedPlan; source: 'run-start-copy' | 'plan-file' };
  tails: OutputTails;
  /** The signed or unsigned records `restore approve` left in the run's inbox, per stage. */
  inbox: { stage: string; approvals: InboxApproval[]; problems: InboxProblem[] }[];
  versions: { restore: string; node: string };
}

/**
 * The files of an evidence bundle (SPEC section 10), MANIFEST.sha256 last. Each is a function of
 * the run's state alone (no "now", no path of the machine that made it), so the same run always
 * gives the same bytes; each is redacted, as everything restore writes.
 */
export function bundleFiles(sources: EvidenceSources, redactor: Redactor): BundleEntry[] {
  const { run } = sources;
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  // The targets of the plan as applied, against what the journal says: the table `report` shows.
  const rto = rtoTable(sources.plan.display, run);
  const reportJson = REPORT_FORMATS.json.render(run, sources.tails, rto);
  const texts: [string, string | undefined][] = [
    [
      'bundle.json',
      json({
        plan: run.plan,
        run: run.run,
        state: run.state,
        digest: run.digest,
        plan_source: sources.plan.source,
        restore_version: sources.versions.restore,
        node_version: sources.versions.node,
      }),
    ],
    ['plan.yaml', sources.plan.text],
    [
      'plan.json',
      renderPlanJson({
        file: 'plan.yaml',
        plan: sources.plan.display,
        digest: planDigest(sources.plan.display),
        only: [],
      }),
    ],
    [JOURNAL, sources.journal],
    ['journal-verify.txt', sources.verification],
    ['run.log', sources.log],
    ['report.md', REPORT_FORMATS.markdown.render(run, sources.tails, rto)],
    ['report.json', reportJson],
    ['report.junit.xml', REPORT_FORMATS.junit.render(run, sources.tails, rto)],
    ['approvals.json', json(approvals(sources))],
    ['integrity.json', json(sources.entries.filter((entry) => entry.event === 'service.verified'))],
    ['rto.json', json(rto)],
  ];
  const files = texts.flatMap(([name, text]) =>
    text === undefined ? [] : [{ name, body: Buffer.from(redactor.active ? redactor.text(text) : text) }],
  );
  return [...files, { name: MANIFEST, body: Buffer.from(renderManifest(files)) }];
}

/** Approvals as the journal recorded them (those that counted), and the inbox's records as left. */
function approvals(sources: EvidenceSources): unknown {
  return {
    journal: sources.entries.filter((entry) => entry.event === 'stage.approved'),
    inbox: sources.inbox.flatMap(({ stage, approvals, problems }) =>
      approvals.length + problems.length > 0 ? [{ stage, approvals, problems }] : [],
    ),
  };
}
