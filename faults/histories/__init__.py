"""Proof by random histories, with an independent checker (Jepsen's way), beside the campaign.

    .venv/bin/python -m faults.histories --versions 2.3.0,1.20.5 --histories 10 --ops 15 --seed 1

A seed draws a history (:mod:`.generate`): reconcile runs (short, waiting, killed at a random
moment or at a named crash point, two at once, asked things by a person), a person's cancel or
stop-with-savepoint over REST, JobManager and TaskManager kills, lost and late answers, and spec
edits, on 2-3 stateful deployments of one Flink cluster. :mod:`.run` plays it while
:mod:`.sampler` watches Flink and storage; after quiescence :mod:`.checker` judges what Flink,
its JobManager log, storage and the raw record file say, importing nothing of the product.
A failing history is shortened by :mod:`.shrink`.
"""
