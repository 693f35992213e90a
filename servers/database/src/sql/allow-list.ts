// What a model's SQL may contain: parse-tree node types, functions and operators. Anything not
// listed here is refused, so a new PostgreSQL feature is denied until someone decides otherwise.

/**
 * Parse-tree node types a read-only query may contain (libpg-query JSON tags). Absent on purpose:
 * IntoClause (SELECT INTO creates a table), LockingClause (FOR UPDATE/SHARE), every *Stmt but
 * SelectStmt (so data-modifying CTEs, COPY, SET, CALL, DO... cannot appear anywhere in the tree),
 * RangeTableSample / RangeTableFunc (custom sampling and XMLTABLE handlers), Xml* nodes.
 */
export const ALLOWED_NODES: ReadonlySet<string> = new Set([
  'SelectStmt',
  'ResTarget',
  'ColumnRef',
  'A_Star',
  'A_Const',
  'String',
  'Integer',
  'Float',
  'Boolean',
  'BitString',
  'List',
  'RangeVar',
  'Alias',
  'RangeSubselect',
  'RangeFunction',
  'JoinExpr',
  'FuncCall',
  'A_Expr',
  'BoolExpr',
  'NullTest',
  'BooleanTest',
  'SubLink',
  'CaseExpr',
  'CaseWhen',
  'CoalesceExpr',
  'MinMaxExpr',
  'NullIfExpr',
  'SQLValueFunction',
  'TypeCast',
  'TypeName',
  'CollateClause',
  'A_ArrayExpr',
  'A_Indirection',
  'A_Indices',
  'RowExpr',
  'SortBy',
  'WindowDef',
  'WithClause',
  'CommonTableExpr',
  'CTESearchClause',
  'CTECycleClause',
  'GroupingSet',
  'GroupingFunc',
  'ParamRef', // only honoured where parameters are allowed (saved queries); see guard.ts
]);

/**
 * Functions a query may call, by unqualified name (a `pg_catalog.` qualifier is also accepted).
 * Read-only, side-effect-free built-ins only. Deliberately absent: everything reading files or
 * other databases (pg_read_file, dblink*), executing SQL from strings (query_to_xml & co),
 * large objects (lo_*), sleeping, signalling or locking (pg_sleep, pg_terminate_backend,
 * pg_advisory_lock), changing settings or sequences (set_config, setseed, nextval, setval),
 * notifications, memory-hungry generators (repeat, lpad, rpad, array_fill; jsonb_pretty, whose
 * indentation grows with the square of the nesting depth), and catalog readers that turn any OID
 * into a name (format_type, pg_get_*, to_reg*: `format_type(o, NULL)` over a series of OIDs lists
 * the types, hence the tables, of schemas the caller may not read).
 */
// biome-ignore format: grouped by kind, several names a line, so the list reads as a list
export const ALLOWED_FUNCTIONS: ReadonlySet<string> = new Set([
  // aggregates
  'count', 'sum', 'avg', 'min', 'max', 'bool_and', 'bool_or', 'every', 'string_agg', 'array_agg',
  'json_agg', 'jsonb_agg', 'json_object_agg', 'jsonb_object_agg', 'percentile_cont', 'percentile_disc',
  'mode', 'stddev', 'stddev_pop', 'stddev_samp', 'variance', 'var_pop', 'var_samp', 'corr',
  'covar_pop', 'covar_samp', 'regr_slope', 'regr_intercept', 'regr_r2', 'regr_count',
  // window functions
  'row_number', 'rank', 'dense_rank', 'percent_rank', 'cume_dist', 'ntile', 'lag', 'lead',
  'first_value', 'last_value', 'nth_value',
  // numbers
  'abs', 'ceil', 'ceiling', 'floor', 'round', 'trunc', 'sign', 'sqrt', 'cbrt', 'power', 'pow', 'exp',
  'ln', 'log', 'log10', 'mod', 'div', 'pi', 'degrees', 'radians', 'random', 'width_bucket', 'gcd',
  'lcm', 'scale', 'num_nulls', 'num_nonnulls',
  // text
  'lower', 'upper', 'initcap', 'length', 'char_length', 'character_length', 'octet_length',
  'substring', 'substr', 'position', 'strpos', 'trim', 'btrim', 'ltrim', 'rtrim', 'replace',
  'translate', 'split_part', 'concat', 'concat_ws', 'left', 'right', 'reverse', 'starts_with',
  'format', 'quote_ident', 'quote_literal', 'md5', 'overlay', 'regexp_replace', 'regexp_match',
  'regexp_matches', 'regexp_like', 'regexp_count', 'regexp_split_to_array', 'string_to_array',
  'array_to_string', 'to_hex', 'ascii', 'chr', 'normalize', 'is_normalized', 'similar_to_escape',
  'like_escape', 'collation_for',
  // dates and times
  'now', 'clock_timestamp', 'statement_timestamp', 'transaction_timestamp', 'date_trunc', 'date_part',
  'extract', 'age', 'to_char', 'to_date', 'to_timestamp', 'to_number', 'make_date', 'make_time',
  'make_timestamp', 'make_timestamptz', 'make_interval', 'justify_days', 'justify_hours',
  'justify_interval', 'date_bin', 'timezone', 'isfinite', 'overlaps',
  // arrays, series, json
  'array_length', 'array_lower', 'array_upper', 'cardinality', 'array_position', 'array_positions',
  'array_remove', 'array_append', 'array_prepend', 'array_cat', 'unnest', 'generate_series',
  'generate_subscripts', 'to_json', 'to_jsonb', 'row_to_json', 'json_build_object',
  'jsonb_build_object', 'json_build_array', 'jsonb_build_array', 'json_object', 'jsonb_object',
  'json_extract_path', 'json_extract_path_text', 'jsonb_extract_path', 'jsonb_extract_path_text',
  'json_typeof', 'jsonb_typeof', 'json_array_length', 'jsonb_array_length', 'json_array_elements',
  'jsonb_array_elements', 'json_array_elements_text', 'jsonb_array_elements_text', 'json_each',
  'jsonb_each', 'json_each_text', 'jsonb_each_text', 'json_object_keys', 'jsonb_object_keys',
  'jsonb_strip_nulls', 'json_strip_nulls', 'jsonb_path_query', 'jsonb_path_exists',
  // text search
  'to_tsvector', 'to_tsquery', 'plainto_tsquery', 'phraseto_tsquery', 'websearch_to_tsquery',
  'ts_rank', 'ts_headline',
  // harmless introspection
  'current_database', 'current_schema', 'current_schemas', 'current_setting', 'version',
  'pg_backend_pid', 'pg_typeof', 'obj_description', 'col_description',
  'pg_size_pretty', 'pg_relation_size', 'pg_total_relation_size', 'pg_table_size',
  'pg_indexes_size', 'gen_random_uuid', 'inet_client_addr', 'pg_postmaster_start_time',
]);

/**
 * Operators a query may use. Built-in comparison, arithmetic, text, range, array and json
 * operators; a warehouse-defined operator could run any function, so unknown ones are refused.
 */
// biome-ignore format: one short line of symbols
export const ALLOWED_OPERATORS: ReadonlySet<string> = new Set([
  '=', '<>', '<', '>', '<=', '>=', '+', '-', '*', '/', '%', '^', '|/', '||/', '@', '&', '|', '#',
  '~', '<<', '>>', '||', '~~', '!~~', '~~*', '!~~*', '~*', '!~', '!~*', '->', '->>', '#>', '#>>',
  '@>', '<@', '?', '?|', '?&', '&&', '@@', '@?', '-|-', '&<', '&>', '<->',
]);

/** A_Expr kinds whose `name` is an operator symbol that must be on {@link ALLOWED_OPERATORS}. */
export const OPERATOR_EXPR_KINDS: ReadonlySet<string> = new Set([
  'AEXPR_OP',
  'AEXPR_OP_ANY',
  'AEXPR_OP_ALL',
  'AEXPR_DISTINCT',
  'AEXPR_NOT_DISTINCT',
  'AEXPR_NULLIF',
  'AEXPR_IN',
  'AEXPR_LIKE',
  'AEXPR_ILIKE',
  'AEXPR_SIMILAR',
]);

/** A_Expr kinds whose `name` is a keyword (BETWEEN...), not an operator. */
export const KEYWORD_EXPR_KINDS: ReadonlySet<string> = new Set([
  'AEXPR_BETWEEN',
  'AEXPR_NOT_BETWEEN',
  'AEXPR_BETWEEN_SYM',
  'AEXPR_NOT_BETWEEN_SYM',
]);

/**
 * Types a cast (`x::t`, `CAST(x AS t)`, `t 'literal'`) may target, by the name the parser gives
 * (`int` is `int4`). A cast runs the target's input or cast function: reg* types read the catalog
 * (`'billing'::regnamespace`), xml runs libxml, and a warehouse-defined type or domain can run
 * any function. `regclass` is handled apart: only of a literal, which then counts as a relation;
 * `regconfig` (text search configurations) only of a literal too, so no OID can be probed with it.
 * The same list governs attribute notation: `x.regtype` is the cast `regtype(x)` (guard.ts).
 */
// biome-ignore format: grouped by kind, several names a line
export const ALLOWED_CAST_TYPES: ReadonlySet<string> = new Set([
  'bool', 'int2', 'int4', 'int8', 'numeric', 'float4', 'float8', 'money',
  'text', 'varchar', 'bpchar', 'char', 'name', 'bytea', 'uuid', 'json', 'jsonb', 'jsonpath',
  'date', 'time', 'timetz', 'timestamp', 'timestamptz', 'interval',
  'inet', 'cidr', 'macaddr', 'macaddr8', 'bit', 'varbit', 'tsvector', 'tsquery', 'regconfig',
  'int4range', 'int8range', 'numrange', 'daterange', 'tsrange', 'tstzrange',
  'int4multirange', 'int8multirange', 'nummultirange', 'datemultirange', 'tsmultirange', 'tstzmultirange',
  // Their input reads nothing, and they are common column names (`t.path`, `c.oid`, `e.point`).
  'oid', 'xid', 'cid', 'pg_lsn', 'point', 'lseg', 'path', 'box', 'polygon', 'line', 'circle',
]);

/**
 * Allowed functions that need more than their name checked (see function-checks.ts): they take a
 * relation, a setting name or a format string. They are also never reachable as `x.f`, where
 * their arguments could not be inspected.
 */
export const CHECKED_CALLS: ReadonlySet<string> = new Set([
  'format',
  'current_setting',
  'pg_relation_size',
  'pg_total_relation_size',
  'pg_table_size',
  'pg_indexes_size',
  'obj_description',
  'col_description',
  'generate_series',
  // A text search configuration argument (regconfig) must be a literal name, never an OID.
  'to_tsvector',
  'to_tsquery',
  'plainto_tsquery',
  'phraseto_tsquery',
  'websearch_to_tsquery',
  'ts_headline',
  // Output a multiple of the input's size: the factor must be a literal the guard can bound.
  'replace',
  'regexp_replace',
  'array_to_string',
  'concat_ws',
]);

/**
 * Settings `current_setting()` may read. Settings can carry secrets (`ALTER ROLE ... SET app.key`),
 * so only these are readable. The fleet.* ones are bound from verified claims for row-level security.
 */
// biome-ignore format: several names a line
export const READABLE_SETTINGS: ReadonlySet<string> = new Set([
  'fleet.tenant', 'fleet.user', 'fleet.roles',
  'timezone', 'datestyle', 'intervalstyle', 'extra_float_digits', 'default_text_search_config',
  'server_version', 'server_version_num', 'server_encoding', 'client_encoding', 'lc_collate',
  'lc_ctype', 'lc_monetary', 'lc_numeric', 'lc_time', 'standard_conforming_strings',
  'transaction_read_only', 'transaction_isolation', 'statement_timeout', 'search_path',
  'max_identifier_length', 'integer_datetimes',
]);

/** The widest `format()` field a query may ask for (`%1000s`); wider ones allocate at will (F9). */
export const FORMAT_MAX_WIDTH = 1000;

/**
 * The most rows `generate_series()` may produce; its bounds must be literals (or now() plus or minus
 * a literal interval), so that the guard can count. Generous on purpose: sorts and hashes are bounded
 * by the role's work_mem/temp_file_limit and every query by statement_timeout; this only stops the
 * absurd (a series of 10^12 fed to string_agg, array_agg of 10^8 elements in one value), which those
 * do not bound.
 */
export const SERIES_MAX_ROWS = 10_000_000;

/**
 * How much the size-multiplying calls of one query may multiply a value by, all together: the
 * product of each call's factor (replace(s, 'a', 'aaaaaaaaaa') is 10; regexp_replace by its
 * replacement's length plus its back-references; array_to_string and concat_ws by their separator).
 * Nested calls multiply (replace of replace of ... grows exponentially with the text of the query);
 * the product is taken over every such call in the query, nested or not, since a CTE chain nests
 * them just as well.
 */
export const GROWTH_MAX = 1000;

/** The longest replacement text replace()/regexp_replace() may insert (a literal). */
export const REPLACEMENT_MAX_LENGTH = 1000;

/**
 * The deepest a query's parse tree may nest (counted in parse-tree nodes: a scalar subquery is
 * three, `a + b` one). Deeper trees crash recursive walkers (ours and others'); no real query needs it.
 */
export const MAX_NESTING = 200;

/**
 * System relations a query may read, by `schema.name`, whatever the caller's role: the shape of the
 * warehouse (names, columns, types, constraints, comments). Every other relation of pg_catalog and
 * information_schema — and any relation named pg_* wherever it lives (extension views such as
 * pg_stat_statements) — is refused: they show other sessions' SQL with its literals
 * (pg_stat_activity, pg_stat_statements), settings and role settings that may hold secrets
 * (pg_settings, pg_file_settings, pg_db_role_setting, pg_roles.rolconfig, pg_user.useconfig),
 * credentials (pg_authid, pg_shadow, pg_user_mappings, user_mapping_options), server configuration
 * (pg_hba_file_rules), replication and lock state, prepared statements of pooled sessions, and
 * statistics that quote column values (pg_stats). Unqualified names resolve to pg_catalog first.
 */
// biome-ignore format: several names a line
export const READABLE_SYSTEM_RELATIONS: ReadonlySet<string> = new Set([
  'pg_catalog.pg_namespace', 'pg_catalog.pg_class', 'pg_catalog.pg_attribute', 'pg_catalog.pg_attrdef',
  'pg_catalog.pg_type', 'pg_catalog.pg_enum', 'pg_catalog.pg_range', 'pg_catalog.pg_index',
  'pg_catalog.pg_constraint', 'pg_catalog.pg_description', 'pg_catalog.pg_inherits', 'pg_catalog.pg_am',
  'pg_catalog.pg_collation', 'pg_catalog.pg_tables', 'pg_catalog.pg_views', 'pg_catalog.pg_matviews',
  'pg_catalog.pg_indexes', 'pg_catalog.pg_timezone_names', 'pg_catalog.pg_timezone_abbrevs',
  'information_schema.schemata', 'information_schema.tables', 'information_schema.columns',
  'information_schema.views', 'information_schema.table_constraints', 'information_schema.key_column_usage',
  'information_schema.constraint_column_usage', 'information_schema.referential_constraints',
  'information_schema.check_constraints', 'information_schema.element_types', 'information_schema.domains',
]);
