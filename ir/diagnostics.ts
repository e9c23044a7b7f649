// Every diagnostic sparsec reports is built here, so codes stay unique and wording consistent.
// The core never prints or exits: it throws a SparsecError (user errors) or returns warnings;
// cli/ formats them. Anything else thrown is an internal error (a bug), reported with exit 2.

export interface Location {
  /** The model file (or artifact) the problem is in. */
  file?: string;
  /** Node name and op type, when a node is at fault. */
  node?: string;
  opType?: string;
  /** A value (tensor) name, when one is at fault. */
  value?: string;
}

export interface Diagnostic {
  /** Stable identifier, e.g. 'UNSUPPORTED_OP'. Warnings can be silenced by it. */
  code: DiagnosticCode;
  severity: 'error' | 'warning';
  /** One sentence saying what is wrong. */
  text: string;
  /** What the user can do about it. */
  hint?: string;
  location?: Location;
  /** Related places, e.g. "this residual Add couples the group". */
  notes?: { text: string; location?: Location }[];
}

// Sorted; add new codes in order.
export const DiagnosticCode = {
  BAD_ATTRIBUTE: 'BAD_ATTRIBUTE',
  BAD_INPUT: 'BAD_INPUT',
  BAD_MODEL: 'BAD_MODEL',
  BAD_OPTION: 'BAD_OPTION',
  EXTERNAL_DATA: 'EXTERNAL_DATA',
  FILE_NOT_FOUND: 'FILE_NOT_FOUND',
  LAYOUT_FALLBACK: 'LAYOUT_FALLBACK',
  NON_STATIC_SHAPE: 'NON_STATIC_SHAPE',
  OPSET_UNSUPPORTED: 'OPSET_UNSUPPORTED',
  PERMUTATION_SKIPPED: 'PERMUTATION_SKIPPED',
  READ_FAILED: 'READ_FAILED',
  SHAPE_MISMATCH: 'SHAPE_MISMATCH',
  TYPE_MISMATCH: 'TYPE_MISMATCH',
  UNSUPPORTED_DTYPE: 'UNSUPPORTED_DTYPE',
  UNSUPPORTED_OP: 'UNSUPPORTED_OP',
  VERIFY_FAILED: 'VERIFY_FAILED',
  WRITE_FAILED: 'WRITE_FAILED',
} as const;
export type DiagnosticCode = (typeof DiagnosticCode)[keyof typeof DiagnosticCode];

/** A user-facing failure: bad input, unsupported model, bad option. CLI exit code 1. */
export class SparsecError extends Error {
  constructor(readonly diagnostics: Diagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'SparsecError';
  }

  get diagnostic(): Diagnostic {
    return this.diagnostics[0]!;
  }
}

export function error(code: DiagnosticCode, text: string, location?: Location, hint?: string): SparsecError {
  return new SparsecError([{ code, severity: 'error', text, location, hint }]);
}

export function warning(code: DiagnosticCode, text: string, location?: Location, hint?: string): Diagnostic {
  return { code, severity: 'warning', text, location, hint };
}

/** One line: `file: node 'name' (Op): text. hint [CODE]` */
export function formatDiagnostic(d: Diagnostic): string {
  const where: string[] = [];
  const loc = d.location;
  if (loc?.file) where.push(loc.file);
  if (loc?.node !== undefined) where.push(`node '${loc.node}'${loc.opType ? ` (${loc.opType})` : ''}`);
  else if (loc?.opType) where.push(loc.opType);
  if (loc?.value !== undefined) where.push(`value '${loc.value}'`);
  const prefix = where.length ? `${where.join(': ')}: ` : '';
  const hint = d.hint ? ` ${d.hint}` : '';
  return `${d.severity}: ${prefix}${d.text}${hint} [${d.code}]`;
}

/** Deterministic order: by file, node, code, text. */
export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  const key = (d: Diagnostic) => `${d.location?.file ?? ''}\0${d.location?.node ?? ''}\0${d.code}\0${d.text}`;
  return [...ds].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}
