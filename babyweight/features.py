"""The one table of features: every feature's name, kind, types, unit, label, source columns,
example and domain, and the names and spellings derived from it.

Raw names follow BigQuery's `samples.natality`. Everything that reads, checks, shows or
documents a feature loops over FEATURES (and LABEL for the label): the request parser and the
web form (babyweight/instances.py, babyweight/serving/page.py), the OpenAPI document, batch
input and output, the serving log, the skew and drift checks, the input formats and the
BigQuery query. Transform, the model and its signatures import the names and bucket edges from
here too, as do the exported model's interface (signature names, prediction key).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

CATEGORICAL, NUMERIC = "categorical", "numeric"
# Input formats a training file may have (babyweight/local/input_formats.py tells them apart).
BIGQUERY_FORMAT, CDC_FORMAT = "bigquery", "cdc"

LABEL_KEY = "weight_pounds"
IS_MALE = "is_male"
MOTHER_AGE = "mother_age"
PLURALITY = "plurality"
GESTATION_WEEKS = "gestation_weeks"
# Hash key for the train/eval/test split: the course's year-month hash where a month is known,
# a fingerprint of the row otherwise (see staging). Never a model input.
SPLIT_KEY = "split_key"

UNKNOWN = "Unknown"
IS_MALE_VALUES = ["False", "True", UNKNOWN]
# Spellings a person or a data source uses for is_male, lower-cased, mapped to IS_MALE_VALUES.
IS_MALE_SPELLINGS = {
    "false": "False",
    "0": "False",
    "f": "False",
    "true": "True",
    "1": "True",
    "t": "True",
    "unknown": UNKNOWN,
    "": UNKNOWN,
}
# The CDC public-use files' `sex` column (M/F), lower-cased, to is_male; for that column only.
SEX_SPELLINGS = {"m": "True", "f": "False"}
# How files spell a missing value, lower-cased: empty (BigQuery, pandas), NA (R), NaN, null.
MISSING_SPELLINGS = frozenset({"", "na", "nan", "null", "none"})

MULTIPLE = "Multiple(2+)"
PLURALITY_VALUES = [
    "Single(1)",
    "Twins(2)",
    "Triplets(3)",
    "Quadruplets(4)",
    "Quintuplets(5)",
    MULTIPLE,
]
SINGLE = PLURALITY_VALUES[0]
MAX_PLURALITY = 5  # raw plurality is an integer 1..5; index p-1 in PLURALITY_VALUES
# Spellings of plurality, lower-cased, to their label: the labels and the counts "1".."5".
PLURALITY_SPELLINGS = {label.lower(): label for label in PLURALITY_VALUES}
PLURALITY_SPELLINGS.update({str(i + 1): PLURALITY_VALUES[i] for i in range(MAX_PLURALITY)})
# "Multiple(2+)" has no count; where a count is needed (the training data, the skew check) it
# counts as twins, by far the most common multiple birth. The model maps it to its own category.
MULTIPLE_AS_COUNT = 2


def plurality_count(label: str) -> int:
    """The raw plurality (number of babies) of a label: 1..5, and MULTIPLE_AS_COUNT (2) for
    "Multiple(2+)". The one meaning of a plurality label as a count."""
    if label == MULTIPLE:
        return MULTIPLE_AS_COUNT
    return PLURALITY_VALUES.index(label) + 1


@dataclasses.dataclass(frozen=True)
class Source:
    """Where a feature comes from in one input format: its column, and how that column differs.

    `sql` is the expression that reads it from BigQuery (the column itself by default);
    `not_stated` a code the source writes for a missing value (CDC's 99); `spellings` the
    column's own category spellings (CDC's sex M/F), `expected` their error text; `per_unit`
    how many of the column's units make one of the feature's (grams per pound)."""

    column: str
    sql: str | None = None
    not_stated: str | None = None
    spellings: dict[str, str] | None = None
    expected: str = ""
    per_unit: float | None = None


@dataclasses.dataclass(frozen=True)
class Feature:
    """One raw feature (or the label) as every reader, writer and page sees it.

    kind: CATEGORICAL (domain: the canonical values, in the model's id order) or NUMERIC
      (domain: the (min, max) the curated schema allows, babyweight/schema.pbtxt);
    dtype: the TensorFlow dtype of the model's serving_default input, and of batch columns;
    training_dtype: how the training data (tf.Example, the schema) holds it: plurality is a
      count there (`to_training` converts a canonical value), a label at serving time;
    bigquery_type: its column type in a BigQuery table (batch predictions);
    label, unit, description: the web form's words and the OpenAPI document's;
    sources: its column per input format (BIGQUERY_FORMAT, CDC_FORMAT);
    example: a valid canonical value (the web form's preset choice, the model's warm-up row);
    spellings, expected, takes_booleans: how a categorical value is read (lower-cased
      spelling -> canonical value; the error text; whether JSON true/false is a spelling);
    choices: the web form's words for each category; buckets: fixed bucket edges of a numeric
      feature (also TFMA slices)."""

    name: str
    kind: str
    dtype: str
    bigquery_type: str
    label: str
    description: str
    sources: dict[str, Source]
    example: object
    domain: tuple
    unit: str | None = None
    training_dtype: str | None = None
    to_training: Callable | None = None
    spellings: dict[str, str] = dataclasses.field(default_factory=dict)
    expected: str = ""
    takes_booleans: bool = False
    choices: dict[str, str] = dataclasses.field(default_factory=dict)
    buckets: tuple[int, ...] = ()

    @property
    def categorical(self) -> bool:
        return self.kind == CATEGORICAL

    @property
    def stored_dtype(self) -> str:
        """The dtype of the training data (tf.Example, the schema)."""
        return self.training_dtype or self.dtype

    def training_value(self, value):
        """A canonical value as the training data holds it ("Twins(2)" -> 2)."""
        return self.to_training(value) if self.to_training else value

    def source(self, input_format: str) -> Source:
        return self.sources[input_format]


def _same_name(name: str, **cdc) -> dict[str, Source]:
    """Sources of a feature named as in samples.natality, and its CDC column."""
    return {BIGQUERY_FORMAT: Source(name), CDC_FORMAT: Source(**cdc)}


GRAMS_PER_POUND = 453.59237

LABEL = Feature(
    name=LABEL_KEY,
    kind=NUMERIC,
    dtype="float32",
    bigquery_type="FLOAT",
    label="Birth weight",
    description="the baby's birth weight in pounds",
    sources={
        BIGQUERY_FORMAT: Source(LABEL_KEY),
        CDC_FORMAT: Source("dbwt", not_stated="9999", per_unit=GRAMS_PER_POUND),
    },
    example=7.5,
    domain=(0.1, 20.0),
    unit="pounds",
)

FEATURES: tuple[Feature, ...] = (
    Feature(
        name=IS_MALE,
        kind=CATEGORICAL,
        dtype="string",
        bigquery_type="STRING",
        label="Baby's sex",
        description="the baby's sex: True (male), False (female) or Unknown",
        sources={
            BIGQUERY_FORMAT: Source(IS_MALE, sql=f"IF({IS_MALE}, 'True', 'False')"),
            CDC_FORMAT: Source("sex", spellings=SEX_SPELLINGS, expected="expected M or F"),
        },
        example=UNKNOWN,
        domain=tuple(IS_MALE_VALUES),
        spellings=IS_MALE_SPELLINGS,
        expected="expected True, False or Unknown (also true/false, 1/0)",
        takes_booleans=True,
        choices={"True": "Male", "False": "Female", UNKNOWN: "Unknown"},
    ),
    Feature(
        name=MOTHER_AGE,
        kind=NUMERIC,
        dtype="int64",
        bigquery_type="INTEGER",
        label="Mother's age",
        description="the mother's age in years",
        sources=_same_name(MOTHER_AGE, column="mager"),
        example=30,
        domain=(11, 55),
        unit="years",
        buckets=(20, 25, 30, 35, 40),
    ),
    Feature(
        name=PLURALITY,
        kind=CATEGORICAL,
        dtype="string",
        bigquery_type="STRING",
        label="Plurality",
        description="number of babies born at once; Multiple(2+) when not known",
        sources=_same_name(PLURALITY, column="dplural"),
        example=SINGLE,
        domain=tuple(PLURALITY_VALUES),
        training_dtype="int64",
        to_training=plurality_count,
        spellings=PLURALITY_SPELLINGS,
        expected=f"expected one of {', '.join(PLURALITY_VALUES)} or 1-{MAX_PLURALITY}",
        choices={
            label: "Multiple, number not known" if label == MULTIPLE else label.replace("(", " (")
            for label in PLURALITY_VALUES
        },
    ),
    Feature(
        name=GESTATION_WEEKS,
        kind=NUMERIC,
        dtype="int64",
        bigquery_type="INTEGER",
        label="Gestation weeks",
        description="weeks of pregnancy at birth",
        sources=_same_name(GESTATION_WEEKS, column="combgest", not_stated="99"),
        example=39,
        domain=(17, 47),
        unit="weeks",
        buckets=(28, 32, 35, 37, 39, 41),
    ),
)


def feature(name: str) -> Feature:
    """The row of FEATURES (or LABEL) named `name`; KeyError for any other name."""
    for row in (*FEATURES, LABEL):
        if row.name == name:
            return row
    raise KeyError(f"{name}: not a feature of babyweight.features")


def names(table=None) -> list[str]:
    """The names of a table of features (FEATURES by default), in order."""
    return [f.name for f in (FEATURES if table is None else table)]


FEATURE_KEYS = names()
# The columns an input file must have, named as in BigQuery's samples.natality.
REQUIRED_COLUMNS = [LABEL_KEY, *FEATURE_KEYS]
# Numeric columns that the course's query requires to be > 0: every one stored as a number.
POSITIVE_COLUMNS = [f.name for f in (LABEL, *FEATURES) if f.stored_dtype != "string"]

# Fixed, readable bucket edges (years and weeks), so slices mean the same in every run.
MOTHER_AGE_BOUNDARIES = list(feature(MOTHER_AGE).buckets)
GESTATION_WEEKS_BOUNDARIES = list(feature(GESTATION_WEEKS).buckets)


def transformed_name(key: str) -> str:
    return f"{key}_xf"


def bucket_name(key: str) -> str:
    return transformed_name(f"{key}_bucket")


# Transform outputs, by role in the model: each categorical feature's ids, each numeric one's
# buckets (categories too) and z-score.
CATEGORICAL_XF = {  # name -> number of categories
    **{transformed_name(f.name): len(f.domain) for f in FEATURES if f.categorical},
    **{bucket_name(f.name): len(f.buckets) + 1 for f in FEATURES if f.buckets},
}
NUMERIC_XF = [transformed_name(f.name) for f in FEATURES if not f.categorical]
# Feature pairs crossed for the wide part of the model.
CROSSES = [
    (transformed_name(IS_MALE), transformed_name(PLURALITY)),
    (bucket_name(MOTHER_AGE), bucket_name(GESTATION_WEEKS)),
    (transformed_name(PLURALITY), bucket_name(GESTATION_WEEKS)),
]

PREDICTION_KEY = "predicted_weight_pounds"

# The exported model's signatures (models/signatures.py makes them; serving and TFMA call them).
RAW_SIGNATURE = "serving_default"  # raw features as tensors, as a person writes them
EXAMPLE_SIGNATURE = "serving_tf_example"  # serialized tf.Example
TRANSFORM_SIGNATURE = "transform_features"  # serialized tf.Example to Transform's outputs


def bucket_labels(boundaries: list[int]) -> list[str]:
    """Readable names of the buckets that tft.apply_buckets makes from `boundaries`."""
    labels = [f"<{boundaries[0]}"]
    labels += [f"{lo}-{hi - 1}" for lo, hi in zip(boundaries, boundaries[1:], strict=False)]
    labels.append(f"{boundaries[-1]}+")
    return labels


SLICE_LABELS = {
    bucket_name(MOTHER_AGE): bucket_labels(MOTHER_AGE_BOUNDARIES),
    bucket_name(GESTATION_WEEKS): bucket_labels(GESTATION_WEEKS_BOUNDARIES),
}
