"""Copy a study from one storage to another (any two backends, or within one)."""

from __future__ import annotations

from pathlib import Path

from honed.storage.base import Storage

__all__ = ["copy_study"]


def copy_study(
    src: str | Path | Storage,
    dst: str | Path | Storage,
    name: str,
    new_name: str | None = None,
) -> int:
    """Copy the study ``name`` from ``src`` to ``dst`` (storages or URLs, any two backends)
    and return its id in ``dst``.

    Everything is copied: its directions, user and system attributes (the stored
    :class:`~honed.FaultPolicy` among them), and every trial in order with its state,
    parameters and the distributions they were drawn from, values, reports (their seconds
    too), constraints, attributes, and start and finish times. Trial numbers stay the same;
    trial ids are ``dst``'s. ``new_name`` names the copy (the same name by default); a study
    of that name in ``dst`` is an error, and a copy that fails half way is removed.

    Trials still RUNNING are copied as RUNNING: in ``dst`` they go stale like any trial
    whose worker is gone (their heartbeats went to ``src``). Copy a study nobody is writing
    to for a copy that is the whole of it.
    """
    from honed.storage import get_storage  # the package imports this module

    src_store = get_storage(src, read_only=not isinstance(src, Storage))
    dst_store = get_storage(dst)
    try:
        study_id = src_store.get_study_id(name)
        directions = src_store.get_study_directions(study_id)
        user_attrs = src_store.get_study_user_attrs(study_id)
        system_attrs = src_store.get_study_system_attrs(study_id)
        trials = src_store.get_trials(study_id)
        new_id = dst_store.create_study(name if new_name is None else new_name, directions)
        try:
            for key, value in user_attrs.items():
                dst_store.set_study_user_attr(new_id, key, value)
            for key, value in system_attrs.items():
                dst_store.set_study_system_attr(new_id, key, value)
            for trial in trials:
                dst_store.add_trial(new_id, trial)
        except BaseException:
            dst_store.delete_study(new_id)
            raise
        return new_id
    finally:
        if src_store is not src:
            src_store.close()
        if dst_store is not dst:
            dst_store.close()
