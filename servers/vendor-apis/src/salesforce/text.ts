// Text a tool sends to Salesforce: well-formed Unicode without control characters (tab always
// allowed; line breaks only where the field holds several lines). Checked by character code, not regex.

/** True when `s` is well-formed and holds no control character other than tab (and CR/LF when `multiline`). */
export function isCleanText(s: string, multiline: boolean): boolean {
  if (!s.isWellFormed()) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 9) continue;
    if ((c === 10 || c === 13) && multiline) continue;
    if (c < 32 || c === 127) return false;
  }
  return true;
}
