# The babyweight pipeline image: every KFP / Vertex task, and every Dataflow worker
# (--sdk_container_image), runs this. The base is the TFX image of the pinned TFX version, so the
# TFX entrypoints recorded in the compiled spec and the Beam SDK worker boot are the ones we test.
#
#   docker build -t gcr.io/PROJECT/babyweight-pipeline:latest .
#   docker push gcr.io/PROJECT/babyweight-pipeline:latest
FROM tensorflow/tfx:1.16.0

# TFX 1.16 exports Keras 2 models; the entrypoint imports TFX before our `babyweight` package
# could select tf-keras, so the image selects it.
ENV TF_USE_LEGACY_KERAS=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/pipeline

# Keras 2 (tf-keras) and the KerasTuner that builds with it; the rest of the stack comes with the
# base image (pinned in pyproject.toml to the same versions).
RUN pip install --no-cache-dir "tf-keras==2.16.0" "keras-tuner==1.3.5"

# The project, at /pipeline (pipeline/configs.py IMAGE_PROJECT_DIR): code referenced by dotted
# path (models.model.run_fn, preprocessing.preprocessing_fn, pipeline.gate, pipeline.reports, and
# system.HTML etc., the report steps' artifact types, which TFX imports by their KFP type name)
# and the babyweight package with the schema file that ImportSchemaGen reads
# (/pipeline/babyweight/schema.pbtxt).
WORKDIR /pipeline
COPY pyproject.toml README.md ./
COPY preprocessing.py system.py ./
COPY models/ models/
COPY pipeline/ pipeline/
COPY babyweight/ babyweight/
RUN pip install --no-cache-dir --no-deps .
