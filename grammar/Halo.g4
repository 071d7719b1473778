// Halo's grammar: the structure of the Stan language (blocks, declarations, statements,
// expressions with Stan's operator precedence) plus first-class neural components.
// ANTLR 4.7.2 tool, 4.9 C++ runtime. The parse tree is turned into an AST with source spans
// by compiler/frontend; this file decides only what parses, not what is meaningful.
grammar Halo;

program
    : functionsBlock? dataBlock? transformedDataBlock? parametersBlock?
      transformedParametersBlock? modelBlock? generatedQuantitiesBlock? EOF
    ;

functionsBlock             : FUNCTIONS '{' functionDef* '}' ;
dataBlock                  : DATA '{' topDecl* '}' ;
transformedDataBlock       : TRANSFORMED DATA '{' blockItem* '}' ;
parametersBlock            : PARAMETERS '{' topDecl* '}' ;
transformedParametersBlock : TRANSFORMED PARAMETERS '{' blockItem* '}' ;
modelBlock                 : MODEL '{' blockItem* '}' ;
generatedQuantitiesBlock   : GENERATED QUANTITIES '{' blockItem* '}' ;

// ---- functions (user-defined; typed arguments, one return type) ----
functionDef
    : returnType=fnType identifier '(' (fnArg (',' fnArg)*)? ')' (body=block | ';')
    ;
fnArg  : DATA? fnType identifier ;
fnType
    : VOID
    | ARRAY '[' (',')* ']' fnBaseType
    | fnBaseType
    ;
fnBaseType : INT | REAL | VECTOR | ROW_VECTOR | MATRIX ;

// ---- declarations ----
// A declaration at the top of data/parameters (no statements there).
topDecl : varDecl | networkDecl ;

blockItem : varDecl | networkDecl | statement ;

varDecl
    : BATCH? varType identifier oldDims=dims? ('=' expr)? ';'
    ;
dims : '[' expr (',' expr)* ']' ;

varType
    : ARRAY dims elementType          # ArrayType
    | elementType                     # PlainType
    ;

elementType
    : INT constraint?                                     # IntType
    | REAL constraint?                                    # RealType
    | VECTOR constraint? '[' expr ']'                     # VectorType
    | ROW_VECTOR constraint? '[' expr ']'                  # RowVectorType
    | MATRIX constraint? '[' expr ',' expr ']'            # MatrixType
    | kind=(SIMPLEX | UNIT_VECTOR | ORDERED | POSITIVE_ORDERED | SUM_TO_ZERO_VECTOR
           | CHOLESKY_FACTOR_CORR | CORR_MATRIX | COV_MATRIX) '[' expr ']'   # SpecialVectorType
    | CHOLESKY_FACTOR_COV '[' expr (',' expr)? ']'        # CholeskyCovType
    ;

constraint : '<' constraintItem (',' constraintItem)* '>' ;
constraintItem : key=identifier '=' constraintExpr ;

// Expressions inside <...>: no comparison or logical operators at the top level, so that
// '>' closes the constraint (as in Stan). Parenthesise to use them.
constraintExpr
    : postfixExpr                                                     # CPostfix
    | <assoc=right> constraintExpr op=('^' | '.^') constraintExpr     # CPow
    | op=('-' | '!' | '+') constraintExpr                             # CUnary
    | constraintExpr op=('\\' | '%/%') constraintExpr                 # CLeftDiv
    | constraintExpr op=('*' | '/' | '%' | '.*' | './') constraintExpr # CMul
    | constraintExpr op=('+' | '-') constraintExpr                    # CAdd
    ;

// Neural components: `mlp(14 -> 128 -> 64, relu, tanh) body;`, `dense(64 -> 15) head;`.
networkDecl
    : kind=(MLP | DENSE) '(' expr (ARROW expr)+ (',' identifier)* ')' identifier ';'
    ;

// ---- statements ----
statement
    : block                                                          # BlockStmt
    | identifier '(' STRING ')' block                                # ProfileStmt
    | lhs op=('=' | '+=' | '-=' | '*=' | '/=' | '.*=' | './=') expr ';'  # AssignStmt
    | expr '~' identifier '(' exprList? ')' truncation? ';'          # TildeStmt
    | TARGET '+=' expr ';'                                           # TargetStmt
    | FOR '(' identifier IN expr ':' expr ')' statement              # ForRangeStmt
    | FOR '(' identifier IN expr ')' statement                       # ForEachStmt
    | WHILE '(' expr ')' statement                                   # WhileStmt
    | IF '(' expr ')' statement (ELSE statement)?                    # IfStmt
    | BREAK ';'                                                      # BreakStmt
    | CONTINUE ';'                                                   # ContinueStmt
    | RETURN expr? ';'                                               # ReturnStmt
    | PRINT '(' printable (',' printable)* ')' ';'                   # PrintStmt
    | REJECT '(' printable (',' printable)* ')' ';'                  # RejectStmt
    | FATAL_ERROR '(' printable (',' printable)* ')' ';'             # FatalErrorStmt
    | expr ';'                                                       # ExprStmt
    | ';'                                                            # EmptyStmt
    ;

block : '{' blockItem* '}' ;

lhs : identifier ('[' indexList ']')* ;

// `T[lo, hi]`, `T[lo, ]`, `T[, hi]` after a distribution (T is checked in the front end,
// so that T stays usable as a variable name).
truncation : identifier '[' lo=expr? ',' hi=expr? ']' ;

printable : STRING | expr ;

// ---- expressions, highest precedence first (Stan's table; stanc3's parser.mly puts `\` and
// `%/%` one level above `*`, `/`, `%`, `.*`, `./`, so `2 * M \ v` is `2 * (M \ v)`) ----
expr
    : postfixExpr                                                    # Postfix
    | <assoc=right> expr op=('^' | '.^') expr                        # Pow
    | op=('-' | '!' | '+') expr                                      # Unary
    | expr op=('\\' | '%/%') expr                                    # LeftDiv
    | expr op=('*' | '/' | '%' | '.*' | './') expr                   # Mul
    | expr op=('+' | '-') expr                                       # Add
    | expr op=('<' | '<=' | '>' | '>=') expr                         # Compare
    | expr op=('==' | '!=') expr                                     # Equality
    | expr '&&' expr                                                 # And
    | expr '||' expr                                                 # Or
    | <assoc=right> expr '?' expr ':' expr                           # Conditional
    ;

postfixExpr
    : primary                                                        # PrimaryPostfix
    | postfixExpr '[' indexList ']'                                  # IndexPostfix
    | postfixExpr '.' identifier                                     # MemberPostfix
    | postfixExpr '\''                                               # TransposePostfix
    ;

primary
    : INT_LITERAL                                                    # IntLit
    | REAL_LITERAL                                                   # RealLit
    | identifier '(' expr '|' exprList? ')'                          # CondCall
    | identifier '(' exprList? ')'                                   # Call
    | TARGET '(' ')'                                                 # TargetCall
    | identifier                                                     # Variable
    | '(' expr ')'                                                   # Paren
    | '{' exprList '}'                                               # ArrayExpr
    | '[' exprList? ']'                                              # RowVectorExpr
    ;

exprList : expr (',' expr)* ;

// One index per dimension; each is a single index, a range, or empty (all).
indexList : index (',' index)* ;
index
    : lo=expr? ':' hi=expr?                                          # RangeIndex
    | expr                                                           # SingleIndex
    |                                                                # AllIndex
    ;

// Keywords that are only special in context stay usable as names.
identifier
    : ID | LOWER | UPPER | OFFSET | MULTIPLIER | BATCH | MLP | DENSE
    ;

// ---- lexer ----
FUNCTIONS   : 'functions' ;
DATA        : 'data' ;
TRANSFORMED : 'transformed' ;
PARAMETERS  : 'parameters' ;
MODEL       : 'model' ;
GENERATED   : 'generated' ;
QUANTITIES  : 'quantities' ;
INT         : 'int' ;
REAL        : 'real' ;
VECTOR      : 'vector' ;
ROW_VECTOR  : 'row_vector' ;
MATRIX      : 'matrix' ;
ARRAY       : 'array' ;
VOID        : 'void' ;
SIMPLEX     : 'simplex' ;
UNIT_VECTOR : 'unit_vector' ;
SUM_TO_ZERO_VECTOR : 'sum_to_zero_vector' ;
ORDERED     : 'ordered' ;
POSITIVE_ORDERED : 'positive_ordered' ;
CHOLESKY_FACTOR_CORR : 'cholesky_factor_corr' ;
CHOLESKY_FACTOR_COV  : 'cholesky_factor_cov' ;
CORR_MATRIX : 'corr_matrix' ;
COV_MATRIX  : 'cov_matrix' ;
FOR         : 'for' ;
IN          : 'in' ;
WHILE       : 'while' ;
IF          : 'if' ;
ELSE        : 'else' ;
BREAK       : 'break' ;
CONTINUE    : 'continue' ;
RETURN      : 'return' ;
TARGET      : 'target' ;
PRINT       : 'print' ;
REJECT      : 'reject' ;
FATAL_ERROR : 'fatal_error' ;
LOWER       : 'lower' ;
UPPER       : 'upper' ;
OFFSET      : 'offset' ;
MULTIPLIER  : 'multiplier' ;
BATCH       : 'batch' ;
MLP         : 'mlp' ;
DENSE       : 'dense' ;

ARROW : '->' ;

ID : [a-zA-Z] [a-zA-Z0-9_]* | '_' [a-zA-Z0-9_]+ ;

INT_LITERAL  : DIGITS ;
REAL_LITERAL
    : DIGITS '.' DIGITS? EXPONENT?
    | '.' DIGITS EXPONENT?
    | DIGITS EXPONENT
    ;
fragment DIGITS   : [0-9]+ ('_' [0-9]+)* ;
fragment EXPONENT : [eE] [+-]? [0-9]+ ;

STRING : '"' (~["\\\r\n] | '\\' .)* '"' ;

LINE_COMMENT  : ('//' | '#') ~[\r\n]* -> skip ;
BLOCK_COMMENT : '/*' .*? '*/' -> skip ;
WS            : [ \t\r\n]+ -> skip ;

// Anything else becomes one token that the parser cannot use, so the error is located.
ERROR_CHAR : . ;
