/** @odoo-module **/
/**
 * Exact SMS segment counting following GSM 03.38 (GSM-7 default alphabet) and UCS-2.
 * Twin of sms_gateway/tools/sms_segments.py: both must agree on every string.
 */

export const GSM7 = "GSM-7";
export const UCS2 = "UCS-2";

// GSM 03.38 default alphabet, in table order 0x00..0x7F (0x1B is the escape, not a character).
const GSM7_BASIC_CHARS = new Set(
    "@£$¥èéùìòÇ\nØø\rÅå" +
        "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ" +
        " !\"#¤%&'()*+,-./" +
        "0123456789:;<=>?" +
        "¡ABCDEFGHIJKLMNO" +
        "PQRSTUVWXYZÄÖÑÜ§" +
        "¿abcdefghijklmno" +
        "pqrstuvwxyzäöñüà"
);
// GSM 03.38 extension table: each character is sent as ESC + code, i.e. 2 septets.
const GSM7_EXTENSION_CHARS = new Set("\f^{}\\[~]|€");

const LIMITS = {
    [GSM7]: { single: 160, multi: 153 },
    [UCS2]: { single: 70, multi: 67 },
};

// Replacements applied by toGsm7; characters already in GSM-7 (é è à ù ì ò Ç ...) are kept.
const GSM7_REPLACEMENTS = {
    á: "a", â: "a", ã: "a",
    Á: "A", Â: "A", Ã: "A", À: "A",
    ç: "c",
    ê: "e", ë: "e",
    Ê: "E", Ë: "E", È: "E",
    í: "i", î: "i", ï: "i",
    Í: "I", Î: "I", Ï: "I", Ì: "I",
    ó: "o", ô: "o", õ: "o",
    Ó: "O", Ô: "O", Õ: "O", Ò: "O",
    ú: "u", û: "u",
    Ú: "U", Û: "U", Ù: "U",
    ý: "y", ÿ: "y", Ý: "Y", Ÿ: "Y",
    œ: "oe", Œ: "OE",
    "\u2019": "'", "\u2018": "'", // ’ ‘
    "\u201c": '"', "\u201d": '"', // “ ”
    "\u00ab": '"', "\u00bb": '"', // « »
    "\u2013": "-", "\u2014": "-", // – —
    "\u2026": "...", // …
    "\u00a0": " ", "\u202f": " ", // non-breaking space, narrow non-breaking space
};

/**
 * @param {string} text
 * @returns {boolean} true when every character can be sent with the GSM-7 alphabet
 */
export function isGsm7(text) {
    for (const char of text || "") {
        if (!GSM7_BASIC_CHARS.has(char) && !GSM7_EXTENSION_CHARS.has(char)) {
            return false;
        }
    }
    return true;
}

/**
 * Count encoding, units and segments of a text exactly as a GSM network sends it.
 * `chars` counts code points (like Python's len), `units` counts septets (GSM-7, extension
 * characters count 2) or UTF-16 code units (UCS-2, a non-BMP character counts 2).
 *
 * @param {string} text
 * @returns {{encoding: string, chars: number, units: number, segments: number, remaining: number, unitLimit: number}}
 */
export function countSms(text) {
    const codePoints = Array.from(text || "");
    const encoding = isGsm7(text) ? GSM7 : UCS2;
    const { single, multi } = LIMITS[encoding];
    const costs = codePoints.map((char) => {
        if (encoding === GSM7) {
            return GSM7_EXTENSION_CHARS.has(char) ? 2 : 1;
        }
        return char.length; // 2 for a surrogate pair, 1 otherwise
    });
    const chars = codePoints.length;
    const units = costs.reduce((total, cost) => total + cost, 0);
    if (!units) {
        return { encoding, chars, units: 0, segments: 0, remaining: single, unitLimit: single };
    }
    if (units <= single) {
        return { encoding, chars, units, segments: 1, remaining: single - units, unitLimit: single };
    }
    // Concatenated SMS: fill segments greedily so that an escape sequence or a surrogate pair is never split.
    let segments = 1;
    let used = 0;
    for (const cost of costs) {
        if (used + cost > multi) {
            segments += 1;
            used = 0;
        }
        used += cost;
    }
    return { encoding, chars, units, segments, remaining: multi - used, unitLimit: multi };
}

/**
 * Replace characters missing from GSM-7 by close GSM-7 forms (ç→c, œ→oe, ’→' ...); keep the others.
 *
 * @param {string} text
 * @returns {string}
 */
export function toGsm7(text) {
    let result = "";
    for (const char of (text || "").normalize("NFC")) {
        result += GSM7_REPLACEMENTS[char] ?? char;
    }
    return result;
}
