"""The job admin: the job list and page (``job``) and its changelist for large tables (``changelist``)."""

from jobs.admin.job import JobAdmin

__all__ = ["JobAdmin"]
