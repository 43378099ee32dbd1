"""Type stubs for the C extension module microlog._microlog."""

from typing import Dict, Optional, Tuple, Union

FORMAT_VERSION: Tuple[int, int]
"""Version (major, minor) of the recording format this build writes."""

def start(path: str, *, interval: float = 0.001,
          status_interval: float = 0.1, memory_interval: float = 1.0,
          sampler: str = "auto",
          meta: Optional[Dict[str, Union[str, int]]] = None,
          main_ident: int = 0) -> str: ...
def stop(exit_status: int = 0) -> Optional[Dict[str, Union[float, int, str]]]: ...
def is_running() -> bool: ...
