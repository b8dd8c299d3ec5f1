"""Optuna TPE over the key's components (multivariate, seeded), driven through ask/tell.

The study lives in the store's database, so a run's history is one place and a resumed run
continues the same study.
"""

from __future__ import annotations

import time
from typing import Optional

import optuna
from optuna.distributions import CategoricalDistribution
from optuna.storages import RetryFailedTrialCallback
from optuna.trial import TrialState

from promptsearch.core.states import CandidateStatus
from promptsearch.search.base import Candidate, RecordedTrial, Strategy, rankable
from promptsearch.search.components import add_paraphrases
from promptsearch.search.space import DEMO_SETS, Point

STALE = "stale"  # user attr of a trial a killed process left running


class TPEStrategy(Strategy):
    name = "tpe"
    enqueue_baselines = True

    def __init__(self, context):
        super().__init__(context)
        self.study: Optional[optuna.Study] = None
        self._running: Optional[optuna.Trial] = None

    def setup(self) -> None:
        add_paraphrases(self.context)
        # Frozen here: optuna needs the same choices every trial, while other strategies of an
        # `auto` portfolio keep adding instructions to the shared space.
        self.instruction_count = len(self.context.space.instructions)
        self.study = optuna.create_study(
            storage=self._storage(), study_name=self.context.run.run_id,
            sampler=self._sampler(), direction="maximize", load_if_exists=True)
        if not self.study.trials and self.enqueue_baselines and self.context.run.trial is None:
            for point in self.context.space.baselines():
                self.study.enqueue_trial(point.as_params())
        if not self.context.run.shared:  # one process: whatever is running is stale
            self._retry_stale_trials()

    def _storage(self):
        """The store's URL; for a worker of a shared run, with optuna's heartbeat: a trial whose
        worker stopped beating is failed and asked again (RetryFailedTrialCallback)."""
        liveness = self.context.run.liveness
        if liveness is None:
            return self.context.run.storage_url
        interval = max(1, round(liveness.interval_s))  # optuna counts whole seconds
        return _made_despite_a_racing_creator(lambda: optuna.storages.RDBStorage(
            self.context.run.storage_url, heartbeat_interval=interval,
            grace_period=liveness.missed_beats * interval,
            failed_trial_callback=RetryFailedTrialCallback(max_retry=3)))

    def _retry_stale_trials(self) -> None:
        """Trials a killed process left running, each resumed as the uninterrupted run had it:
        told its result if its candidate was recorded; else asked again, first and under its
        own number; a trial killed while its point was drawn is failed, marked so that it does
        not count as history."""
        storage = self.study._storage  # optuna has no public way to reset another's trial
        for trial in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            key_id = self._key_id(trial.params)
            recorded = self.context.run.recorded.get(trial.number)
            if key_id is not None and recorded is not None and recorded.key_id == key_id:
                self._tell_recorded(trial.number, recorded)
            elif key_id is not None:  # the lowest-numbered waiting trial is asked first
                storage.set_trial_state_values(trial._trial_id, TrialState.WAITING)
            else:
                storage.set_trial_user_attr(trial._trial_id, STALE, True)
                self.study.tell(trial.number, state=TrialState.FAIL)

    def _key_id(self, params: dict) -> Optional[str]:
        names = self.distributions()
        if set(params) != set(names):
            return None
        return self.context.space.key(Point(**{name: params[name] for name in names})).id

    def _tell_recorded(self, number: int, recorded: RecordedTrial) -> None:
        if recorded.status is CandidateStatus.COMPLETE:
            self.study.tell(number, recorded.dev_score)
        else:
            pruned = recorded.status is CandidateStatus.PRUNED
            self.study.tell(number, state=TrialState.PRUNED if pruned else TrialState.FAIL)

    def _sampler(self) -> optuna.samplers.TPESampler:
        """A sampler seeded by (run seed, trials so far): each ask is a function of the history
        alone, so a run resumed after a crash asks what the uninterrupted run asked."""
        trials = self.study.get_trials(deepcopy=False) if self.study else []  # read-only here
        history = sum(not t.user_attrs.get(STALE) for t in trials)
        if self.context.run.trial is not None:  # workers asking at once must not draw alike
            history = self.context.run.trial
        return optuna.samplers.TPESampler(seed=self.context.seed * 100_003 + history,
                                          multivariate=True, n_startup_trials=8,
                                          constant_liar=self.context.run.shared)

    def distributions(self) -> dict[str, CategoricalDistribution]:
        space = self.context.space
        return {
            "instruction": CategoricalDistribution(list(range(self.instruction_count))),
            "format": CategoricalDistribution(list(range(len(space.formats)))),
            "n_demos": CategoricalDistribution(list(space.demo_counts)),
            "selection": CategoricalDistribution(list(space.selections)),
            "demo_set": CategoricalDistribution(list(range(DEMO_SETS))),
            "verbalizer": CategoricalDistribution(list(range(len(space.verbalizers)))),
            **({"reasoning": CategoricalDistribution(list(range(len(space.reasonings))))}
               if space.searches_reasoning() else {}),
        }

    def ask(self) -> Optional[Candidate]:
        if self.context.run.shared:
            optuna.storages.fail_stale_trials(self.study)
        self.study.sampler = self._sampler()
        trial = self.study.ask(self.distributions())
        self._running = trial
        self.heartbeat()
        point = Point(**{name: trial.params[name] for name in self.distributions()})
        space = self.context.space
        return Candidate(trial.number, space.key(point), space.origin(point), point, trial)

    def observe(self, point: Optional[Point], score: float, origin: str) -> None:
        """Learn from a key another strategy scored (auto's arms share what they find)."""
        if point is None or point.instruction >= self.instruction_count:
            return  # an instruction added after the study's choices were frozen
        distributions = self.distributions()
        params = {name: value for name, value in point.as_params().items()
                  if name in distributions}
        self.study.add_trial(optuna.trial.create_trial(
            params=params, distributions=distributions, value=score,
            user_attrs={"observed_from": origin}))

    def heartbeat(self) -> None:
        """Tell optuna the trial in progress is alive (a worker's heartbeat thread calls this)."""
        trial = self._running
        if self.context.run.shared and trial is not None:
            self.study._storage.record_heartbeat(trial._trial_id)

    def tell(self, candidate: Candidate, result) -> None:
        self._running = None
        if rankable(result):
            self.study.tell(candidate.handle, result.score)
        elif result is not None and result.pruned:
            self.study.tell(candidate.handle, state=TrialState.PRUNED)
        else:
            self.study.tell(candidate.handle, state=TrialState.FAIL)


def _made_despite_a_racing_creator(make, attempts: int = 3):
    """optuna creates its tables (and, on PostgreSQL, enum types) when a storage first opens a
    database. Workers starting at once race on that: the loser's CREATE TYPE fails on a
    duplicate (seen in a clean-clone CI run). By the next attempt the schema exists, and
    opening only reads it. A real fault fails every attempt and is raised."""
    for attempt in range(attempts):
        try:
            return make()
        except Exception:  # sqlalchemy's IntegrityError: strategies do not import the store's
            if attempt == attempts - 1:  # database layer (an import-linter contract)
                raise
            time.sleep(0.5 * (attempt + 1))
