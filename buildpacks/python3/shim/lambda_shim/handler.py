# Loads the function's handler: "module.function" imported from the task folder, then the installed requirements.
import importlib
import sys

from . import settings

# Where a version's installed requirements are (its image's /opt/python; a cell mounts the same folder there).
REQUIREMENTS = '/opt/python'


def load_handler():
    """"module.function" (module may be "dir/module" or "package.module"), imported from the task root."""
    module_name, _, function_name = settings.HANDLER.rpartition('.')
    if not module_name or not function_name:
        raise ValueError(f'Bad handler "{settings.HANDLER}": expected module.function')
    sys.path[:0] = [settings.TASK_ROOT, REQUIREMENTS]
    try:
        module = importlib.import_module(module_name.replace('/', '.'))
    except ModuleNotFoundError as error:
        raise ImportError(f"Unable to import module '{module_name}': {error}") from error
    function = getattr(module, function_name, None)
    if not callable(function):
        raise AttributeError(f"Handler '{function_name}' missing on module '{module_name}'")
    return function
