"""The UniMEEC model: configuration, causal prompt builder, processor, model."""

from transformers import AutoConfig, AutoModel

from unimeec.data.modalities import FeatureLookup
from unimeec.models.configuration import UniMEECConfig
from unimeec.models.modeling import UniMEECModel, UniMEECOutput
from unimeec.models.processor import UniMEECProcessor
from unimeec.models.prompt import CausalPromptBuilder, PromptSequence, TargetSlots

# Known to the Auto classes, so AutoConfig / AutoModel / AutoTokenizer read our checkpoints.
AutoConfig.register(UniMEECConfig.model_type, UniMEECConfig, exist_ok=True)
AutoModel.register(UniMEECConfig, UniMEECModel, exist_ok=True)

__all__ = [
    "CausalPromptBuilder",
    "FeatureLookup",
    "PromptSequence",
    "TargetSlots",
    "UniMEECConfig",
    "UniMEECModel",
    "UniMEECOutput",
    "UniMEECProcessor",
]
