# Every test: one BentoML home per process, emptied after each test (see model_registry.testing).
from model_registry.testing import bentoml_env, bentoml_home, model_store  # noqa: F401 (fixtures)
