"""The drift gate between spans: TFX's DistributionValidator, then a gate that acts on it.

StatisticsGen -> DistributionValidator(statistics, baseline_statistics = the previous span's,
found by pipeline/resolvers.py) -> DriftGate -> Transform. The validator compares the train split
of the new span with the previous span's, with the comparators `babyweight skew` uses
(babyweight/metadata/drift.py: L-infinity for categorical features, Jensen-Shannon divergence
for numeric ones) under configs.DRIFT_THRESHOLDS. With no previous span it compares nothing.
The gate stops the run, naming each drifted feature (configs.DRIFT_ACTION "stop"), or logs them
and lets the run go on ("warn"); the run summary names them either way.

StatisticsGen computes plurality as the category it is (STATISTICS_OPTIONS), so that L-infinity
has category frequencies to compare.
"""

from babyweight import features as F
from babyweight.errors import BabyweightError, ExitCode
from babyweight.metadata import drift as drift_lib

from absl import logging
from tensorflow_metadata.proto.v0 import path_pb2, schema_pb2
from tfx import v1 as tfx
from tfx.components.distribution_validator import executor as validator_executor
from tfx.components.distribution_validator.component import DistributionValidator
from tfx.dsl.components.base import executor_spec
from tfx.proto import distribution_validator_pb2
from tfx.utils import proto_utils

from . import configs


class DriftError(BabyweightError, RuntimeError):
    """The new span's data drifted from the previous span's beyond the thresholds."""

    code = ExitCode.DRIFT


def statistics_options():
    """StatisticsGen's options: categories written as integers (plurality) counted as
    categories too (top values), so that L-infinity can compare their frequencies between
    spans."""
    import tensorflow_data_validation as tfdv

    schema = schema_pb2.Schema()
    for name in drift_lib.categorical_counts():
        feature = schema.feature.add(name=name, type=schema_pb2.INT)
        feature.int_domain.is_categorical = True
    return tfdv.StatsOptions(schema=schema)


def validator_config(thresholds: dict) -> distribution_validator_pb2.DistributionValidatorConfig:
    """A drift comparator per model feature, as `babyweight skew` sets them."""
    config = distribution_validator_pb2.DistributionValidatorConfig()
    for name in F.FEATURE_KEYS:
        feature = config.default_slice_config.feature.add(path=path_pb2.Path(step=[name]))
        drift_lib.set_comparator(feature.distribution_comparator, name, thresholds)
    return config


CONFIG_KEY = "distribution_validator_config"


class ConfigParsingExecutor(validator_executor.Executor):
    """TFX 1.16's DistributionValidator executor uses its config as a proto; under TFX's KFP v2
    entrypoint (OSS KFP and Vertex) exec properties arrive as the JSON text of the proto, and
    it fails with `'str' object has no attribute 'default_slice_config'` (executor.py
    _make_schema_from_config). Parse it first; a proto (the local runner's) passes unchanged."""

    def Do(self, input_dict, output_dict, exec_properties):  # noqa: N802  (TFX's name)
        config = exec_properties.get(CONFIG_KEY)
        if isinstance(config, str):
            parsed = distribution_validator_pb2.DistributionValidatorConfig()
            proto_utils.json_to_proto(config, parsed)
            exec_properties = {**exec_properties, CONFIG_KEY: parsed}
        return super().Do(input_dict, output_dict, exec_properties)


def distribution_validator(statistics, previous_statistics, settings: configs.PipelineSettings):
    validator = DistributionValidator(
        statistics=statistics,
        baseline_statistics=previous_statistics,
        config=validator_config(settings.drift_thresholds),
        include_split_pairs=[(configs.DRIFT_SPLIT, configs.DRIFT_SPLIT)],
    )
    validator.executor_spec = executor_spec.ExecutorClassSpec(ConfigParsingExecutor)
    return validator


def check(anomalies_uri: str, split_names: str, stop: bool) -> str | None:
    """What the gate does with a DistributionValidator's anomalies: DriftError naming each
    drifted feature when `stop`, else the text it logs; None when nothing drifted."""
    found = drift_lib.read_drift(anomalies_uri, split_names)
    if not found:
        logging.info("drift: no previous span to compare with")
        return None
    if not found["features"]:
        logging.info("drift: none beyond the thresholds")
        return None
    drifted = drift_lib.describe(found)
    if stop:
        raise DriftError(
            f"Drift from the previous span in {drifted}; the run stops before Transform and "
            "nothing is trained or pushed (configs.DRIFT_ACTION or --on-drift warn to go on)."
        )
    logging.warning("drift from the previous span in %s; going on (warn)", drifted)
    return drifted


@tfx.dsl.components.component
def DriftGate(  # noqa: N802  (TFX component names are classes by convention)
    anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
    stop: tfx.dsl.components.Parameter[int],
) -> None:
    check(anomalies.uri, anomalies.split_names, bool(stop))
