"""Settings of the audio guide (names prefixed GUIDE_)."""
from core.config import Setting, positive

SETTINGS = [
    Setting("GUIDE_MODEL_DIR", str, "", "Model cache folder; empty means .cache/guide"),
    Setting("GUIDE_AUDIO_DIR", str, "", "Narration audio cache; empty means <instance>/guide-audio"),
    Setting("GUIDE_ANSWER_AUDIO_KEEP", int, 500, "Answer audio files kept before the oldest go",
            positive),
    Setting("GUIDE_ASK_PER_MINUTE", int, 30, "Text questions per client address a minute",
            positive),
    Setting("GUIDE_VOICE_PER_MINUTE", int, 10, "Voice questions per client address a minute",
            positive),
    Setting("GUIDE_MAX_AUDIO_BYTES", int, 4 * 1024 * 1024, "Largest voice question upload",
            positive),
    Setting("GUIDE_MAX_AUDIO_SECONDS", float, 30.0, "Longest voice question", positive),
    Setting("GUIDE_MAX_RECORDING_BYTES", int, 12 * 1024 * 1024,
            "Largest staff narration recording upload", positive),
    Setting("GUIDE_MAX_RECORDING_SECONDS", float, 600.0, "Longest staff narration recording",
            positive),
    Setting("GUIDE_ANSWER_THRESHOLD", float, 0.0, "Relevance threshold override (0 = the "
            "calibrated default in guide/retrieval.py)", lambda v: None if 0 <= v <= 1
            else "must be between 0 and 1"),
    Setting("GUIDE_NEAR_ACCURACY_M", int, 100, "Worst GPS accuracy (metres) 'near me' trusts",
            positive),
    Setting("GUIDE_THREADS", int, 2, "CPU threads for the guide's models", positive),
]
