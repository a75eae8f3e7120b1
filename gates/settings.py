"""Settings of the gates domain (see core.config)."""
from core.config import Setting, non_negative, positive



def _scrypt_n(v):
    return None if 256 <= v <= 65536 and v & (v - 1) == 0 else "must be a power of two, 256-65536"


SETTINGS = [
    Setting("GATES_SLOT_EARLY_MINUTES", int, 30,
            "How many minutes before the booked slot starts a first entry is let in",
            non_negative),
    Setting("GATES_SLOT_LATE_MINUTES", int, 60,
            "How many minutes after the booked slot ends a first entry is still let in",
            non_negative),
    Setting("GATES_SCAN_MAX_BYTES", int, 4096, "Largest body of one scan request", positive),
    Setting("GATES_OFFLINE_BATCH_MAX", int, 500, "Most scans in one offline upload", positive),
    Setting("GATES_OFFLINE_MAX_AGE_DAYS", int, 7,
            "Offline scans older than this are refused (the gate should have synced)", positive),
    Setting("GATES_PHOTO_MAX_BYTES", int, 8 * 1024 * 1024, "Largest ticket photo upload",
            positive),
    Setting("GATES_PHOTO_MAX_PIXELS", int, 40_000_000, "Largest ticket photo in pixels",
            positive),
    Setting("GATES_BUNDLE_DOCUMENT_KEY", bool, False,
            "Put that site's and day's document key (derived, never the lookup key) and "
            "scrypt digests of holders' resident ID numbers into offline bundles, so offline "
            "gates can match a typed ID number (off: bundles hold nothing derived from ID "
            "numbers and offline gates send ID-card visitors to staff)"),
    Setting("GATES_BUNDLE_SCRYPT_N", int, 1024,
            "scrypt cost of each bundle digest (a power of two, 256-65536; r=8, p=1): what a "
            "gate pays once per typed ID number and a thief pays for every guess",
            _scrypt_n),
    Setting("GATES_BUNDLE_DIGEST_BUDGET_MS", int, 1500,
            "Most time one bundle request spends computing missing digests (the rest follow "
            "in later bundles; 'flask gates prepare-bundles' computes them all ahead)",
            non_negative),
    Setting("GATES_AUDIT_KEEP_DAYS", int, 180, "Days of scan audit kept by 'flask gates prune'",
            positive),
]
