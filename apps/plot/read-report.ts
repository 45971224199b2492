import { UserError } from '../../framework/errors.ts';
import { JsonFields } from '../opt/json-fields.ts';
import { readJsonFile } from '../opt/read-json-file.ts';
import type { RunReport } from '../opt/report.ts';

/**
 * Read a `--report` file and check every field the charts use, before drawing anything: a
 * report that parses but is wrong inside is refused with one line naming file and field.
 */
export async function readRunReport(path: string): Promise<RunReport> {
  const value = await readJsonFile(path, {
    name: path,
    what: 'a report',
    fix: 'write one with admove opt --report FILE',
  });
  const r = value as Record<string, unknown> | null;
  if (typeof r !== 'object' || r === null || Array.isArray(r) || r['tool'] !== 'admove') {
    throw new UserError(`${path}: not an admove run report (write one with admove opt --report FILE)`);
  }
  // 1 and 2 differ in what migrationMs and reason mean, not in the fields charted.
  if (r['schemaVersion'] !== 1 && r['schemaVersion'] !== 2) {
    throw new UserError(
      `${path}: schemaVersion ${String(r['schemaVersion'])} is not one this plot knows (1, 2)`,
    );
  }
  checkChartFields(new JsonFields(path, 'write the report with admove opt --report FILE'), r);
  return value as RunReport;
}

/** The fields report-charts.ts reads, with the types it assumes. */
function checkChartFields(f: JsonFields, r: Record<string, unknown>): void {
  const final = f.object(r['final'], 'final');
  f.numberOrNull(final['testAccuracy'], 'final.testAccuracy');
  // Absent from reports written before validation rows existed.
  if (final['bestIteration'] !== undefined && final['bestIteration'] !== null) {
    f.number(final['bestIteration'], 'final.bestIteration', { integer: true, min: 1 });
  }
  const workers = f.objects(r['workers'], 'workers');
  for (const { item, at } of workers) {
    f.string(item['host'], `${at}.host`);
    f.number(item['declaredSpeed'], `${at}.declaredSpeed`);
  }
  const hostCount = workers.length;
  for (const { item, at } of f.objects(r['iterations'], 'iterations')) {
    f.number(item['iteration'], `${at}.iteration`, { integer: true, min: 0 });
    f.numberOrNull(item['error'], `${at}.error`);
    f.numberOrNull(item['testAccuracy'], `${at}.testAccuracy`);
    for (const key of ['trainingError', 'validationError', 'validationAccuracy']) {
      if (item[key] !== undefined) f.numberOrNull(item[key], `${at}.${key}`);
    }
    f.number(item['seconds'], `${at}.seconds`, { min: 0 });
    f.numbers(item['exemplars'], `${at}.exemplars`, hostCount);
  }
  for (const { item, at } of f.objects(r['events'], 'events')) {
    f.string(item['type'], `${at}.type`);
    f.string(item['host'], `${at}.host`);
    f.string(item['outcome'], `${at}.outcome`);
    f.number(item['receivedAt'], `${at}.receivedAt`);
    if (item['fraction'] !== undefined) f.number(item['fraction'], `${at}.fraction`);
  }
  for (const { item, at } of f.objects(r['redistributions'], 'redistributions')) {
    f.number(item['index'], `${at}.index`, { integer: true, min: 0 });
    f.string(item['reason'], `${at}.reason`);
    f.number(item['triggeredAt'], `${at}.triggeredAt`);
    f.numberOrNull(item['migrationMs'], `${at}.migrationMs`);
    f.numberOrNull(item['obtrusivenessMs'], `${at}.obtrusivenessMs`);
    f.number(item['bytesMoved'], `${at}.bytesMoved`, { min: 0 });
    f.numbers(item['countsAfter'], `${at}.countsAfter`, hostCount);
  }
}
