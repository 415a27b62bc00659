// Names people type and read back: org, team and user handles, key and admin key labels. Control
// and invisible format characters (escape sequences, NULs, bidi overrides) are refused on every
// write path, JSON or CSV, so a name cannot repaint a terminal or disguise itself in a listing.
export const controlCharacters = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

// Handles are also CLI arguments and CSV cells: single-spaced words, no commas.
export const handlePattern = /^[^\s,]+( [^\s,]+)*$/;

// Why a handle is refused, or undefined when it is fine.
export function handleProblem(name: string): string | undefined {
  if (name === '') return 'is required';
  if (name.length > 200) return 'must be at most 200 characters';
  if (controlCharacters.test(name)) return 'must not contain control characters';
  if (!handlePattern.test(name)) return 'must not contain commas or leading/trailing spaces';
  return undefined;
}
