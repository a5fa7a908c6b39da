"""Set-based creation of many similar rows: the first one through the ORM, the others copied from its row in
one INSERT … SELECT, with only the columns that differ given per row.

The ORM's ``create`` costs about half a millisecond per row (defaults, conversions, HTML sanitising, cache);
a big send creates one SMS and one chatter log per recipient that differ only in a few columns (number,
contact, document). Copying the first row keeps every other column exactly as the ORM wrote it (defaults,
computed values, what other addons' ``create`` set), and the copy is refused — callers then use the ORM — when
an addon we do not know overrides ``create`` of the model.
"""

from odoo.tools import SQL

# Modules whose ``create`` overrides a copy of the first row reproduces (checked by the tests of each caller).
KNOWN_CREATE_MODULES = ("odoo.models", "odoo.addons.mail.", "odoo.addons.sms.", "odoo.addons.sms_gateway.")


def can_copy_rows(model, columns):
    """True when rows of ``model`` may be copied with ``columns`` varying: every ``create`` override is one we
    know, and every column is a plain stored field (no relation table, no translation, no inverse)."""
    for cls in type(model).__mro__:
        if "create" in vars(cls) and not cls.__module__.startswith(KNOWN_CREATE_MODULES):
            return False
    for name in columns:
        field = model._fields.get(name)
        if (
            not field
            or not field.store
            or not field.column_type
            or field.translate
            or field.inverse
            or field.type in ("one2many", "many2many", "binary", "properties")
        ):
            return False
    # a stored computed field that depends on a varied column would keep the first row's value in the copies
    varied = set(columns)
    for field in model._fields.values():
        if field.store and field.compute and field.name not in varied:
            if any(dependency.split(".")[0] in varied for dependency in model.pool.field_depends[field]):
                return False
    return True


def insert_row_copies(template, rows):
    """Insert one row per dict of ``rows`` (all with the same keys), each a copy of ``template``'s row but for
    the keys of the dict, converted as the ORM converts them; return the new records, in the order of
    ``rows``, after the checks the ORM's ``create`` makes once its rows are inserted. ``template`` is one record the ORM has just created (flushed here)."""
    template.ensure_one()
    model = template.browse()
    if not rows:
        return model
    assert rows[0], "at least one column varies"
    template.flush_recordset()
    columns = list(rows[0])
    table = model._table
    cr = model.env.cr
    cr.execute(
        """SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute
            WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped""",
        (table,),
    )
    types = dict(cr.fetchall())
    cr.execute(
        SQL(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            table,
            len(rows),
        )
    )
    ids = [row[0] for row in cr.fetchall()]
    arrays = [ids]
    for name in columns:
        field = model._fields[name]
        converted = {}
        values = []
        for row in rows:
            value = row[name]
            key = (type(value), value)
            if key not in converted:
                column_value = field.convert_to_column(value, template)
                converted[key] = str(column_value) if isinstance(column_value, str) else column_value
            values.append(converted[key])
        arrays.append(values)
    # the column types of the arrays without length limits (varchar(n) arrays would be cut silently)
    array_types = [SQL("int4[]")] + [SQL(types[name].split("(")[0] + "[]") for name in columns]
    copied = [name for name in types if name != "id" and name not in columns]
    query = SQL(
        "INSERT INTO %(table)s (id, %(varied)s, %(copied)s) "
        "SELECT v.id, %(varied_values)s, %(copied_values)s "
        "FROM %(table)s t, unnest(%(arrays)s) AS v(id, %(varied)s) WHERE t.id = %(template)s",
        table=SQL.identifier(table),
        varied=SQL(", ").join(SQL.identifier(name) for name in columns),
        copied=SQL(", ").join(SQL.identifier(name) for name in copied),
        varied_values=SQL(", ").join(SQL.identifier("v", name) for name in columns),
        copied_values=SQL(", ").join(SQL.identifier("t", name) for name in copied),
        arrays=SQL(", ").join(SQL("%s::%s", array, kind) for array, kind in zip(arrays, array_types, strict=True)),
        template=template.id,
    )
    cr.execute(query)
    copies = model.browse(ids)
    # what the ORM's create does after its INSERT: dependent fields of other records marked for recomputation,
    # the constraints checked, the record rules applied to the new rows
    stored = [name for name, field in model._fields.items() if field.store]
    copies.modified(stored, create=True)
    copies._validate_fields(stored)
    copies.check_access("create")
    return copies
