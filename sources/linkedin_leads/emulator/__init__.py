"""A local emulator of LinkedIn's Lead Sync API, for tests, benchmarks and ``--demo``.

The ``linkedin_leads`` source never imports it.
"""

from .data import Dataset, Lead, LeadForm, generate
from .server import Fault, LinkedInEmulator, RequestRecord, active_versions

__all__ = [
    "Dataset",
    "Fault",
    "Lead",
    "LeadForm",
    "LinkedInEmulator",
    "RequestRecord",
    "active_versions",
    "generate",
]
