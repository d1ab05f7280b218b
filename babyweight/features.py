"""Every feature name, category list, spelling and bucket boundary, in one place.

Raw names follow BigQuery's `samples.natality`. Transform, the model, the serving signatures,
the schema checks, the Evaluator's slices and every tool import them from here. So do the
exported model's interface (signature names, prediction key) that serving and batch call.
"""

from __future__ import annotations

LABEL_KEY = "weight_pounds"
IS_MALE = "is_male"
MOTHER_AGE = "mother_age"
PLURALITY = "plurality"
GESTATION_WEEKS = "gestation_weeks"
# Hash key for the train/eval/test split: the course's year-month hash where a month is known,
# a fingerprint of the row otherwise (see babyweight/local/staging.py). Never a model input.
SPLIT_KEY = "split_key"

FEATURE_KEYS = [IS_MALE, MOTHER_AGE, PLURALITY, GESTATION_WEEKS]
# The columns an input file must have, named as in BigQuery's samples.natality.
REQUIRED_COLUMNS = [LABEL_KEY, *FEATURE_KEYS]
# Numeric columns that the course's query requires to be > 0.
POSITIVE_COLUMNS = [LABEL_KEY, MOTHER_AGE, PLURALITY, GESTATION_WEEKS]

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
# "Multiple(2+)" has no count; where a count is needed it counts as twins, by far the most
# common multiple birth (the model also maps it to its own category).
MULTIPLE_AS_COUNT = 2


def plurality_count(label: str) -> int:
    """The raw plurality (number of babies) of a label; MULTIPLE_AS_COUNT for "Multiple(2+)"."""
    if label == MULTIPLE:
        return MULTIPLE_AS_COUNT
    return PLURALITY_VALUES.index(label) + 1


# Fixed, readable bucket edges (years and weeks), so slices mean the same in every run.
MOTHER_AGE_BOUNDARIES = [20, 25, 30, 35, 40]
GESTATION_WEEKS_BOUNDARIES = [28, 32, 35, 37, 39, 41]


def transformed_name(key: str) -> str:
    return f"{key}_xf"


def bucket_name(key: str) -> str:
    return transformed_name(f"{key}_bucket")


# Transform outputs, by role in the model.
CATEGORICAL_XF = {  # name -> number of categories
    transformed_name(IS_MALE): len(IS_MALE_VALUES),
    transformed_name(PLURALITY): len(PLURALITY_VALUES),
    bucket_name(MOTHER_AGE): len(MOTHER_AGE_BOUNDARIES) + 1,
    bucket_name(GESTATION_WEEKS): len(GESTATION_WEEKS_BOUNDARIES) + 1,
}
NUMERIC_XF = [transformed_name(MOTHER_AGE), transformed_name(GESTATION_WEEKS)]
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
