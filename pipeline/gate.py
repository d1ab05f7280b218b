"""A gate after ExampleValidator: anomalies stop the run before Transform and Trainer.

The stock ExampleValidator only records anomalies; this component fails on them, so nothing
downstream runs and nothing is pushed. Its error names each anomalous feature and why.
"""

from babyweight.errors import BabyweightError, ExitCode
from babyweight.metadata.anomalies import describe, read_anomalies

from tfx import v1 as tfx


class DataAnomaliesError(BabyweightError, RuntimeError):
    """The data does not match the curated schema."""

    code = ExitCode.DATA_ANOMALIES


@tfx.dsl.components.component
def DataValidationGate(  # noqa: N802  (TFX component names are classes by convention)
    anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
) -> None:
    found = read_anomalies(anomalies.uri, anomalies.split_names)
    if found:
        raise DataAnomaliesError(
            "Data validation failed; the run stops before Transform and nothing is pushed.\n"
            "Anomalous features (split): reason\n" + describe(found)
        )
