"""The resolvers of continuous training: artifacts of earlier runs that a run builds on.

Each is a TFX ResolverStrategy (run by tfx.dsl.Resolver inside the pipeline, with ML Metadata at
hand) that also takes an output of THIS run, so it knows the run's span or data and resolves the
same artifacts when the run is repeated: a rerun of a span is a cache hit all the way down. (That
output comes from another node than the earlier artifacts it is compared with: TFX keys a
resolver's inputs by producer and output, and two inputs of one key would be one.) The strategy
resolves that input to nothing: it is a question, not an answer, and lineage should not show the
resolver as one more producer of this run's own artifacts.

- PreviousSpanStatistics: the statistics of the previous span (the newest StatisticsGen output
  of the highest span below this run's), for the drift gate.
- BaseModel: the last blessed model trained on other data than this run's, for warm start. The
  model trained on this very data (a rerun) is not its own starting point, or every rerun would
  train again from the previous result.
- SpanWindow: the Examples of the last K spans (this run's and the K-1 before it, the newest
  artifact of each), for Transform and Trainer when configs.SPAN_WINDOW > 1.

LocalDagRunner runs them; KFP and Vertex cannot (pipeline/pipeline.py leaves them out there).
On OSS KFP the tasks of pipeline/baseline.py stand in for PreviousSpanStatistics and BaseModel,
with the same rules over the push destination's state record (babyweight/baseline.py).
"""

from __future__ import annotations

from babyweight.metadata import store as mlmd

from tfx import v1 as tfx
from tfx.dsl.components.common import resolver

# What the Evaluator records on its blessing (tfx.components.evaluator.constants).
BLESSED = "blessed"
CURRENT_MODEL_ID = "current_model_id"
TRAINER_EXAMPLES_KEY = "examples"


def _span(examples) -> int:
    """An Examples artifact's span: a custom property, as ExampleGen's driver writes it."""
    return examples.get_int_custom_property("span")


def _statistics_spans(store, statistics: list) -> dict[int, int]:
    """{statistics id: span of the examples they describe}."""
    spans = {a.id: mlmd.statistics_span(store, a.id) for a in statistics}
    return {k: v for k, v in spans.items() if v is not None}


class PreviousSpanStatistics(resolver.ResolverStrategy):
    """examples: this run's (for its span); previous_statistics: every StatisticsGen output,
    resolved to the previous span's (none for the first span)."""

    def resolve_artifacts(self, store, input_dict):
        current = input_dict["examples"]
        if not current:
            return {"examples": [], "previous_statistics": []}
        span = _span(current[0])
        spans = _statistics_spans(store, input_dict["previous_statistics"])
        earlier = [a for a in input_dict["previous_statistics"] if spans.get(a.id, span) < span]
        previous = max(earlier, key=lambda a: (spans[a.id], a.id), default=None)
        return {"examples": [], "previous_statistics": [previous] if previous else []}


class BaseModel(resolver.ResolverStrategy):
    """model, model_blessing: every Trainer model and Evaluator blessing; examples: this run's
    transformed examples. Resolves the newest blessed model whose Trainer did not read them."""

    def resolve_artifacts(self, store, input_dict):
        current = {a.id for a in input_dict["examples"]}
        blessings = {
            b.get_int_custom_property(CURRENT_MODEL_ID): b
            for b in input_dict["model_blessing"]
            if b.get_int_custom_property(BLESSED) == 1
        }
        for model in sorted(input_dict["model"], key=lambda a: a.id, reverse=True):
            if (
                model.id in blessings
                and not mlmd.producer_inputs(store, model.id, TRAINER_EXAMPLES_KEY) & current
            ):
                return {"model": [model], "model_blessing": [blessings[model.id]], "examples": []}
        return {"model": [], "model_blessing": [], "examples": []}


class SpanWindow(resolver.ResolverStrategy):
    """statistics: this run's (its span, and the examples they describe); examples: every
    ExampleGen output. Resolves `examples` to this run's and the newest of each of the
    `num_spans` - 1 spans before it that this output has read (fewer when it has not)."""

    def __init__(self, num_spans: int):
        self.num_spans = int(num_spans)

    def resolve_artifacts(self, store, input_dict):
        current = input_dict["statistics"]
        if not current:
            return {"statistics": [], "examples": []}
        mine = mlmd.producer_inputs(store, current[0].id, "examples")
        window = [a for a in input_dict["examples"] if a.id in mine]
        if not window:
            return {"statistics": [], "examples": []}
        span = _span(window[0])
        newest: dict[int, object] = {}
        for a in input_dict["examples"]:
            if span - self.num_spans < _span(a) < span:
                if _span(a) not in newest or a.id > newest[_span(a)].id:
                    newest[_span(a)] = a
        window += [newest[s] for s in sorted(newest, reverse=True)]
        return {"statistics": [], "examples": window}


def previous_span_statistics(examples) -> tfx.dsl.Resolver:
    return tfx.dsl.Resolver(
        strategy_class=PreviousSpanStatistics,
        examples=examples,
        previous_statistics=tfx.dsl.Channel(
            type=tfx.types.standard_artifacts.ExampleStatistics,
            producer_component_id="StatisticsGen",
            output_key="statistics",
        ),
    ).with_id("previous_span_statistics_resolver")


def base_model(transformed_examples) -> tfx.dsl.Resolver:
    return tfx.dsl.Resolver(
        strategy_class=BaseModel,
        model=tfx.dsl.Channel(
            type=tfx.types.standard_artifacts.Model,
            producer_component_id="Trainer",
            output_key="model",
        ),
        model_blessing=tfx.dsl.Channel(
            type=tfx.types.standard_artifacts.ModelBlessing,
            producer_component_id="Evaluator",
            output_key="blessing",
        ),
        examples=transformed_examples,
    ).with_id("base_model_resolver")


def span_window(example_gen, statistics, num_spans: int) -> tfx.dsl.Resolver:
    return tfx.dsl.Resolver(
        strategy_class=SpanWindow,
        config={"num_spans": num_spans},
        statistics=statistics,
        examples=tfx.dsl.Channel(
            type=tfx.types.standard_artifacts.Examples,
            producer_component_id=example_gen.id,
            output_key="examples",
        ),
    ).with_id("span_window_resolver")
