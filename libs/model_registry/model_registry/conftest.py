from model_registry.testing import bentoml_env, bentoml_home, model_store  # noqa: F401 (fixtures)
