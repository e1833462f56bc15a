"""An example aura plugin: the ``stripes`` image provider."""

from aura_plugin_stripes.plugin import StripesIllustrator

__all__ = ["StripesIllustrator"]
