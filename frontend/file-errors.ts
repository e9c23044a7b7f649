// Operating-system errors from reading the files a user named (the model and its external
// data) become diagnostics naming the file. A missing or unreadable file is the user's to
// fix, so it must not surface as an internal error.

/** Why a read failed, in words, for the error codes people meet. */
const REASONS: Readonly<Record<string, string>> = {
  EACCES: 'permission denied',
  EIO: 'input/output error (the disk or network file system failed)',
  EISDIR: 'it is a folder, not a file',
  ELOOP: 'too many levels of symbolic links',
  EMFILE: 'too many open files',
  ENAMETOOLONG: 'the path is too long',
  ENFILE: 'too many open files',
  ENOENT: 'no such file',
  ENOTDIR: 'a part of the path is not a folder',
  EPERM: 'operation not permitted',
};

/** The errno code of a Node file-system error (e.g. 'EACCES'); undefined for anything else. */
export function fsErrorCode(e: unknown): string | undefined {
  const code = e instanceof Error ? (e as NodeJS.ErrnoException).code : undefined;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) ? code : undefined;
}

/** ENOENT or ENOTDIR: the path names no file at all. */
export function isMissingFile(e: unknown): boolean {
  const code = fsErrorCode(e);
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Why reading failed, in words, or undefined when `e` is not a file-system error (then it is
 * a bug and should be rethrown as it is).
 */
export function readFailureReason(e: unknown): string | undefined {
  const code = fsErrorCode(e);
  if (code === undefined) return undefined;
  return REASONS[code] ?? `${code}: ${(e as Error).message.replace(/^E[A-Z0-9]+: /, '')}`;
}

/** What the user can do about a read failure, when there is something specific. */
export function readFailureHint(e: unknown): string | undefined {
  const code = fsErrorCode(e);
  if (code === 'EACCES' || code === 'EPERM') return 'Check the permissions of the file and of the folders on its path.';
  if (code === 'ELOOP') return 'A symbolic link on the path points (directly or not) to itself.';
  return undefined;
}
