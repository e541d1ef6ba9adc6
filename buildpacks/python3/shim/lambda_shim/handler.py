# Loads the function's handler: "module.function" imported from the task folder, then the installed requirements.
import importlib
import sys

from .settings import HANDLER, TASK_ROOT


def load_handler():
    """"module.function" (module may be "dir/module" or "package.module"), imported from the task root."""
    module_name, _, function_name = HANDLER.rpartition('.')
    if not module_name or not function_name:
        raise ValueError(f'Bad handler "{HANDLER}": expected module.function')
    sys.path[:0] = [TASK_ROOT, '/opt/python']
    try:
        module = importlib.import_module(module_name.replace('/', '.'))
    except ModuleNotFoundError as error:
        raise ImportError(f"Unable to import module '{module_name}': {error}") from error
    function = getattr(module, function_name, None)
    if not callable(function):
        raise AttributeError(f"Handler '{function_name}' missing on module '{module_name}'")
    return function
