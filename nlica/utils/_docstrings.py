"""Shared docstring fragments: marker lines replaced by text written once."""

import re

__all__ = ["fill_doc", "replace_marker"]


def replace_marker(doc, name, text):
    r"""Replace the line ``<name>`` of a docstring by ``text``, indented like the marker.

    Parameters
    ----------
    doc : str
        A docstring.
    name : str
        The marker's name, written ``<name>`` alone on its line.
    text : str
        The fragment, without indentation (a trailing newline is added where missing).

    Returns
    -------
    doc : str
        ``doc`` with the fragment in place; unchanged if it has no such marker.

    Examples
    --------
    >>> doc = replace_marker("Args:\n    <x>\n", "x", "x : int\n    The x.")
    >>> doc.splitlines()
    ['Args:', '    x : int', '        The x.']
    """
    match = re.search(rf"^([ \t]*)<{re.escape(name)}>[ \t]*\n", doc, flags=re.MULTILINE)
    if match is None:
        return doc
    indent = match.group(1)
    lines = text.rstrip("\n").split("\n")
    fragment = "".join(f"{indent}{line}\n" if line else "\n" for line in lines)
    return doc[: match.start()] + fragment + doc[match.end() :]


def fill_doc(parts):
    r"""Make a decorator that fills the ``<name>`` marker lines of a docstring.

    Parameters
    ----------
    parts : dict
        Fragments by marker name.

    Returns
    -------
    decorator : callable
        Sets ``obj.__doc__`` with every marker of ``parts`` replaced and returns ``obj``.

    Examples
    --------
    >>> @fill_doc({"seed": "seed : int\n    The seed."})
    ... def f(seed):
    ...     '''Do nothing.
    ...
    ...     Parameters
    ...     ----------
    ...     <seed>
    ...     '''
    >>> "The seed." in f.__doc__
    True
    """

    def decorate(obj):
        doc = obj.__doc__
        for name, text in parts.items():
            doc = replace_marker(doc, name, text)
        obj.__doc__ = doc
        return obj

    return decorate
