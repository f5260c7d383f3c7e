"""Teacher-forced hidden-state capture at anchor tokens, token scores, and the feature cache."""

from oprd.features.anchors import POSITION_NAMES, Anchors, find_anchors
from oprd.features.cache import ChunkPlan, FeatureCache
from oprd.features.capture import CaptureConfig, CapturedFeatures, capture_features
from oprd.features.layers import resolve_layers
from oprd.features.pipeline import ExtractionConfig, PoolFeatures, extract_pool_features
from oprd.features.token_scores import TOKEN_SCORE_NAMES

__all__ = [
    "POSITION_NAMES",
    "TOKEN_SCORE_NAMES",
    "Anchors",
    "CaptureConfig",
    "CapturedFeatures",
    "ChunkPlan",
    "ExtractionConfig",
    "FeatureCache",
    "PoolFeatures",
    "capture_features",
    "extract_pool_features",
    "find_anchors",
    "resolve_layers",
]
