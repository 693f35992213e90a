// One character as the secrets scan reads it: compatibility form folded, invisible characters and
// fillers dropped, Cyrillic/Greek look-alikes made Latin, digits of every script made ASCII.

/** Cyrillic and Greek letters a reader takes for a Latin one (the common confusables). */
const LOOK_ALIKES: Record<string, string> = {
  // Cyrillic, lower then upper case
  а: 'a',
  е: 'e',
  ё: 'e',
  о: 'o',
  р: 'p',
  с: 'c',
  у: 'y',
  х: 'x',
  і: 'i',
  ї: 'i',
  ј: 'j',
  ѕ: 's',
  к: 'k',
  м: 'm',
  н: 'h',
  т: 't',
  в: 'b',
  ԁ: 'd',
  ɡ: 'g',
  һ: 'h',
  ԛ: 'q',
  ԝ: 'w',
  ѵ: 'v',
  г: 'r',
  п: 'n',
  и: 'u',
  А: 'A',
  В: 'B',
  Е: 'E',
  Ё: 'E',
  К: 'K',
  М: 'M',
  Н: 'H',
  О: 'O',
  Р: 'P',
  С: 'C',
  Т: 'T',
  У: 'Y',
  Х: 'X',
  І: 'I',
  Ї: 'I',
  Ј: 'J',
  Ѕ: 'S',
  Ԁ: 'D',
  Ԛ: 'Q',
  Ԝ: 'W',
  Ү: 'Y',
  ү: 'y',
  Һ: 'H',
  Ѵ: 'V',
  З: '3',
  з: '3',
  // Greek, lower then upper case
  α: 'a',
  β: 'b',
  γ: 'y',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  ω: 'w',
  ς: 's',
  Α: 'A',
  Β: 'B',
  Ε: 'E',
  Ζ: 'Z',
  Η: 'H',
  Ι: 'I',
  Κ: 'K',
  Μ: 'M',
  Ν: 'N',
  Ο: 'O',
  Ρ: 'P',
  Τ: 'T',
  Υ: 'Y',
  Χ: 'X',
};

/** Invisible characters: format, combining and enclosing marks, default-ignorables, soft hyphen, fillers. */
const INVISIBLE = /[\p{Cf}\p{Mn}\p{Me}\p{Default_Ignorable_Code_Point}\u00ad\u2800\u3164\uffa0\u115f\u1160]/u;

/** The ASCII digit of a decimal digit of any script (Arabic-Indic, Devanagari, Thai, mathematical…). */
function asciiDigit(c: string): string {
  const cp = c.codePointAt(0)!;
  let zero = cp;
  // Every script's digits are a run of ten from its zero; runs may sit back to back (mathematical digits).
  while (zero > 0 && cp - zero < 9 && /\p{Nd}/u.test(String.fromCodePoint(zero - 1))) zero--;
  return String((cp - zero) % 10);
}

/** One code point as read: NFKC, invisible characters dropped, spaces, dashes, look-alikes and digits ASCII. */
export function foldChar(ch: string): string {
  let out = '';
  for (const c of ch.normalize('NFKC')) {
    if (INVISIBLE.test(c)) continue;
    if (/[\p{Zs}\t]/u.test(c)) out += ' ';
    else if (/[\p{Pd}\u2212]/u.test(c)) out += '-';
    else if (LOOK_ALIKES[c] !== undefined) out += LOOK_ALIKES[c];
    else if (c > '\x7f' && /\p{Nd}/u.test(c)) out += asciiDigit(c);
    else out += c;
  }
  return out;
}
