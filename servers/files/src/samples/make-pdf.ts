// A minimal valid PDF written by hand (no library, no network): one Helvetica text page per entry
// of `pages`. Used for the local sample documents and for tests of PDF text extraction.

function escapePdfString(s: string): string {
  // Latin-1 only (the standard Helvetica encoding); anything else becomes '?'.
  const latin1 = Array.from(s, (ch) => ((ch.codePointAt(0) ?? 63) <= 0xff ? ch : '?')).join('');
  return latin1.replace(/\\/g, '\\\\').replace(/\(/g, '\\(').replace(/\)/g, '\\)');
}

/** Builds a PDF whose page N shows the lines of `pages[N-1]`. */
export function makePdf(pages: readonly (readonly string[])[], title = 'Document'): Buffer {
  const objects: string[] = [];
  const pageCount = pages.length;
  // 1: catalog, 2: pages, 3: font, 4: info, then per page: page object + content stream.
  const pageIds = pages.map((_, i) => 5 + i * 2);
  objects.push('<< /Type /Catalog /Pages 2 0 R >>');
  objects.push(
    `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pageCount} >>`,
  );
  objects.push('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>');
  objects.push(`<< /Title (${escapePdfString(title)}) /Producer (mcp-fleet sample generator) >>`);
  pages.forEach((lines, i) => {
    const stream = [
      'BT',
      '/F1 11 Tf',
      '14 TL',
      '72 740 Td',
      ...lines.map((l) => `(${escapePdfString(l)}) Tj T*`),
      'ET',
    ].join('\n');
    objects.push(
      `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents ${(pageIds[i] ?? 0) + 1} 0 R /Resources << /Font << /F1 3 0 R >> >> >>`,
    );
    objects.push(`<< /Length ${Buffer.byteLength(stream, 'latin1')} >>\nstream\n${stream}\nendstream`);
  });
  let out = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  out += offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R /Info 4 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1');
}
