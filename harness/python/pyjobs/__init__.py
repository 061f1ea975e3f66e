"""A package shipped with a PyFlink test job in ``python.files`` (as a .zip): ``counter_job.py
--with-package`` imports :mod:`pyjobs.common` in the TaskManager, which only a package shipped in
the job's configuration reaches (the driver's ``-pyfs`` reaches the JobManager's Python only)."""
