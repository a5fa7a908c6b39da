import json
from pathlib import Path

from odoo.tests import BaseCase, HttpCase, tagged

from ..tools.sms_segments import count_sms, is_gsm7, to_gsm7

SEGMENT_CASES = json.loads(Path(__file__).parent.joinpath("data", "sms_segment_cases.json").read_text(encoding="utf-8"))
COUNT_FIELDS = ("encoding", "chars", "units", "segments", "remaining")
SINGLE_LIMITS = {"GSM-7": 160, "UCS-2": 70}
MULTI_LIMITS = {"GSM-7": 153, "UCS-2": 67}

# (source, expected to_gsm7 result)
TO_GSM7_CASES = [
    ("Répétition ça va ?", "Répétition ca va ?"),
    ("cœur", "coeur"),
    ("Œuvre", "OEuvre"),
    ("À bientôt", "A bientot"),
    ("Où êtes-vous ? Île, maïs, hôpital, août, naïf", "Où etes-vous ? Ile, mais, hopital, aout, naif"),
    ("Ça, ÇA, déjà vu, è ù ì ò", "Ça, ÇA, déjà vu, è ù ì ò"),
    ("l’été « chaud » – déjà…", 'l\'été " chaud " - déjà...'),
    ("“Oui” ‘non’ — peut-être", "\"Oui\" 'non' - peut-etre"),
    ("Bonjour\u00a0!\u202f?", "Bonjour ! ?"),
    ("e\u0301te\u0301 c\u0327a", "été ca"),
    ("Prix : 10€ [promo] {x}", "Prix : 10€ [promo] {x}"),
    ("Emoji 😀 ç", "Emoji 😀 c"),
    ("", ""),
]
FRENCH_SAMPLES = [
    "Rappel : RDV demain à 9h, merci de prévenir en cas d’empêchement.",
    "Votre rendez-vous du 12/03 à 14h30 a été annulé. Répondez « OUI » pour être rappelé.",
    "Bonjour, votre médecin vous attend à l’hôpital Saint-Éloi, 3e étage, aile Œ.",
    "Le maître-nageur a reçu ta lettre ; à bientôt… Noël approche !",
]


JS_AGREEMENT_CHECK = """
    const singleLimits = {"GSM-7": 160, "UCS-2": 70};
    const multiLimits = {"GSM-7": 153, "UCS-2": 67};
    const smsSegments = odoo.loader.modules.get("@sms_gateway/js/sms_segments");
    const failures = [];
    if (!smsSegments) {
        failures.push("module @sms_gateway/js/sms_segments is not loaded");
    } else {
        for (const testCase of segmentCases) {
            const result = smsSegments.countSms(testCase.text);
            for (const field of countFields) {
                if (result[field] !== testCase[field]) {
                    failures.push(`${testCase.name}: ${field} is ${result[field]}, expected ${testCase[field]}`);
                }
            }
            const single = singleLimits[testCase.encoding];
            const limit = testCase.units <= single ? single : multiLimits[testCase.encoding];
            if (result.unitLimit !== limit) {
                failures.push(`${testCase.name}: unitLimit is ${result.unitLimit}, expected ${limit}`);
            }
        }
        for (const [source, expected] of toGsm7Cases) {
            const result = smsSegments.toGsm7(source);
            if (result !== expected) {
                failures.push(`toGsm7(${JSON.stringify(source)}) is ${JSON.stringify(result)}`);
            }
        }
    }
    if (failures.length) {
        console.error("sms_segments JS disagrees with Python:\\n" + failures.join("\\n"));
    } else {
        console.log("test successful");
    }
"""


class TestSmsSegments(BaseCase):
    """Python reference counter against the shared case table."""

    def test_case_table_is_complete(self):
        self.assertGreaterEqual(len(SEGMENT_CASES), 40)
        for case in SEGMENT_CASES:
            self.assertTrue(set(COUNT_FIELDS) <= case.keys(), case.get("name"))

    def test_count_sms_matches_table(self):
        for case in SEGMENT_CASES:
            with self.subTest(case=case["name"]):
                result = count_sms(case["text"])
                self.assertEqual(
                    {field: getattr(result, field) for field in COUNT_FIELDS},
                    {field: case[field] for field in COUNT_FIELDS},
                )
                single_limit = SINGLE_LIMITS[case["encoding"]]
                expected_limit = single_limit if case["units"] <= single_limit else MULTI_LIMITS[case["encoding"]]
                self.assertEqual(result.unit_limit, expected_limit)
                self.assertEqual(is_gsm7(case["text"]), case["encoding"] == "GSM-7")

    def test_count_sms_accepts_false(self):
        self.assertEqual(count_sms(False).segments, 0)
        self.assertEqual(count_sms(None).units, 0)

    def test_to_gsm7(self):
        for source, expected in TO_GSM7_CASES:
            with self.subTest(source=source):
                self.assertEqual(to_gsm7(source), expected)

    def test_to_gsm7_makes_french_text_gsm7(self):
        for sample in FRENCH_SAMPLES:
            with self.subTest(sample=sample):
                self.assertFalse(is_gsm7(sample))
                self.assertTrue(is_gsm7(to_gsm7(sample)))
                self.assertEqual(count_sms(to_gsm7(sample)).encoding, "GSM-7")
        # characters without a GSM-7 form (here the superscript ᵉ) are kept and still force UCS-2
        self.assertEqual(count_sms(to_gsm7("3ᵉ étage")).encoding, "UCS-2")


@tagged("post_install", "-at_install")
class TestSmsSegmentsBrowser(HttpCase):
    """The JS twin (@sms_gateway/js/sms_segments) must agree with the Python table, run in Chromium."""

    def test_js_counter_matches_table(self):
        code = (
            f"const segmentCases = {json.dumps(SEGMENT_CASES)};\n"
            f"const toGsm7Cases = {json.dumps(TO_GSM7_CASES)};\n"
            f"const countFields = {json.dumps(COUNT_FIELDS)};\n"
        ) + JS_AGREEMENT_CHECK
        self.browser_js("/odoo", code, "odoo.isReady === true", login="admin")
