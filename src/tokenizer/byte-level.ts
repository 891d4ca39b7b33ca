/**
 * Byte-level alphabet of GPT-2 style BPE (the `ByteLevel` pre-tokenizer / decoder of Hugging Face
 * tokenizers): every byte 0..255 is shown as one printable Unicode character, so a token's bytes
 * can be written as a JSON string key in `tokenizer.json`. Printable Latin-1 bytes map to themselves;
 * the others (control bytes, space, 0x7f..0xa0, 0xad) map to U+0100 + n in byte order.
 */

/** BYTE_TO_CHAR[b] is the character that stands for byte b. */
export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();
/** Inverse of BYTE_TO_CHAR: character code -> byte (or -1 when the character is not in the alphabet). */
const CHAR_TO_BYTE = buildCharToByte();

function buildByteToChar(): string[] {
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: string[] = new Array(256);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    out[b] = printable(b) ? String.fromCharCode(b) : String.fromCharCode(256 + n++);
  }
  return out;
}

function buildCharToByte(): Int16Array {
  const table = new Int16Array(512).fill(-1);
  for (let b = 0; b < 256; b++) table[BYTE_TO_CHAR[b].charCodeAt(0)] = b;
  return table;
}

const encoder = new TextEncoder();

/** UTF-8 bytes of a string. */
export function utf8Bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** The byte-level string of some bytes (one alphabet character per byte). */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

/** The bytes a byte-level string stands for, or null when it holds a character outside the alphabet. */
export function byteLevelToBytes(token: string): Uint8Array | null {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    const b = c < 512 ? CHAR_TO_BYTE[c] : -1;
    if (b < 0) return null;
    out[i] = b;
  }
  return out;
}
