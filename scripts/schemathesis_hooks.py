"""schemathesis hooks for scripts/schemathesis.sh (loaded through
SCHEMATHESIS_HOOKS).

A file is downloaded under the media type it was uploaded with. The
upload's body is `*/*`, so schemathesis uploads bytes under any media
type, YAML among them, and its stateful phase then feeds each download
to the deserializer of that type to learn values from it. Its YAML
deserializer raises `yaml.YAMLError` on bytes that are no YAML, which
schemathesis does not expect (it ignores ValueError and kin): the phase's
thread dies and the phase shows as skipped, while the run still passes.
The same deserializer, with that error turned into the ValueError
schemathesis ignores, keeps the phase alive and checks nothing less.
"""

import schemathesis
import yaml
from schemathesis.core import deserialization, media_types


@schemathesis.deserializer(*media_types.YAML_MEDIA_TYPES)
def yaml_or_value_error(ctx, response):
    try:
        return deserialization.deserialize_yaml(
            response.content.decode(response.encoding or "utf-8")
        )
    except yaml.YAMLError as error:
        raise ValueError(f"not YAML: {error}") from error
