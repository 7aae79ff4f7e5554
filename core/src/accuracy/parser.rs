//! The formula parser (Pratt), emitting postfix directly.

use super::*;

#[derive(Debug)]
pub(super) struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    ids: &'a [&'a str],
    program: Program,
    nesting: usize,
    /// First unknown function id and its column; reported only if the syntax is fine.
    unknown: Option<(String, usize)>,
}

/// Characters that belong to the formula language (anything else is "unexpected").
pub(super) fn is_language_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c.is_whitespace() || "_.+-*/^(),".contains(c)
}

impl<'a> Parser<'a> {
    pub(super) fn parse(expression: &str, ids: &'a [&'a str]) -> Result<Program, AccuracyError> {
        let chars = expression.chars().collect();
        let program = Program::default();
        let mut p = Parser {
            chars,
            pos: 0,
            ids,
            program,
            nesting: 0,
            unknown: None,
        };
        p.expr(0)?;
        p.skip_ws();
        if p.peek().is_some() {
            return Err(p.expected("an operator or end of input"));
        }
        match p.unknown {
            Some((id, column)) => Err(AccuracyError::UnknownFunction {
                id,
                column: Some(column),
            }),
            None => Ok(p.program),
        }
    }

    pub(super) fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    pub(super) fn eat(&mut self, c: char) -> bool {
        let hit = self.peek() == Some(c);
        self.pos += usize::from(hit);
        hit
    }

    pub(super) fn take_while(&mut self, f: impl Fn(char) -> bool) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(&f) {
            self.pos += 1;
        }
        self.pos - start
    }

    pub(super) fn skip_ws(&mut self) {
        self.take_while(char::is_whitespace);
    }

    pub(super) fn text(&self, start: usize) -> String {
        self.chars
            .get(start..self.pos)
            .unwrap_or_default()
            .iter()
            .collect()
    }

    pub(super) fn error_at(&self, pos: usize, message: String) -> AccuracyError {
        AccuracyError::Parse {
            column: pos + 1,
            message,
        }
    }

    /// "expected X but found Y" at the current position.
    pub(super) fn expected(&self, what: &str) -> AccuracyError {
        let message = match self.peek() {
            None => format!("expected {what} but found end of input"),
            Some(c) if !is_language_char(c) => format!("unexpected character '{c}'"),
            Some(c) => format!("expected {what} but found '{c}'"),
        };
        self.error_at(self.pos, message)
    }

    pub(super) fn expect(&mut self, c: char) -> Result<(), AccuracyError> {
        self.skip_ws();
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.expected(&format!("'{c}'")))
        }
    }

    /// Parses an expression whose operators bind at least as tightly as `min_bp`.
    pub(super) fn expr(&mut self, min_bp: u8) -> Result<(), AccuracyError> {
        self.nesting += 1;
        if self.nesting > MAX_NESTING {
            let message = format!("expression nests too deeply (more than {MAX_NESTING} levels)");
            return Err(self.error_at(self.pos, message));
        }
        self.prefix()?;
        loop {
            self.skip_ws();
            let (op, left_bp, right_bp) = match self.peek() {
                Some('+') => (Op::Add, 1, 2),
                Some('-') => (Op::Sub, 1, 2),
                Some('*') => (Op::Mul, 3, 4),
                Some('/') => (Op::Div, 3, 4),
                Some('^') => (Op::Pow, 7, 6),
                _ => break,
            };
            if left_bp < min_bp {
                break;
            }
            self.pos += 1;
            self.expr(right_bp)?;
            self.program.emit(op);
        }
        self.nesting -= 1;
        Ok(())
    }

    pub(super) fn prefix(&mut self) -> Result<(), AccuracyError> {
        self.skip_ws();
        match self.peek() {
            Some('-') => {
                self.pos += 1;
                self.expr(5)?; // looser than '^' (7), tighter than '*' (3)
                self.program.emit(Op::Neg);
                Ok(())
            }
            Some('(') => {
                self.pos += 1;
                self.expr(0)?;
                self.expect(')')
            }
            Some(c) if c.is_ascii_digit() || c == '.' => self.number(),
            Some(c) if c.is_ascii_alphabetic() || c == '_' => self.call(),
            _ => Err(self.expected("an expression")),
        }
    }

    pub(super) fn number(&mut self) -> Result<(), AccuracyError> {
        let start = self.pos;
        let digits = |p: &mut Self| p.take_while(|c| c.is_ascii_digit()) > 0;
        let mut valid = digits(self);
        if self.eat('.') {
            valid |= digits(self);
        }
        if self.eat('e') || self.eat('E') {
            let _sign = self.eat('+') || self.eat('-');
            valid &= digits(self);
        }
        // Anything word-like glued to the number (`1x`, `1.2.3`) makes it malformed.
        valid &= self.take_while(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') == 0;
        let text = self.text(start);
        match text.parse::<f64>() {
            Ok(v) if valid && v.is_finite() => {
                self.program.emit(Op::Const(v));
                Ok(())
            }
            Ok(_) if valid => Err(self.error_at(start, format!("number '{text}' is too large"))),
            _ => Err(self.error_at(start, format!("malformed number '{text}'"))),
        }
    }

    /// `A(id)`, `min(...)` or `max(...)`.
    pub(super) fn call(&mut self) -> Result<(), AccuracyError> {
        let start = self.pos;
        self.take_while(|c| c.is_ascii_alphanumeric() || c == '_');
        let name = self.text(start);
        if !matches!(name.as_str(), "A" | "min" | "max") {
            let message = format!("unknown function '{name}' (expected min, max or A)");
            return Err(self.error_at(start, message));
        }
        self.expect('(')?;
        self.skip_ws();
        if name == "A" {
            let id_start = self.pos;
            // Ids may start with a digit: the thesis artifact names functions 1, 2, 3.
            if !self
                .peek()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            {
                return Err(self.expected("a function id"));
            }
            self.take_while(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            let id = self.text(id_start);
            self.expect(')')?;
            let op = match resolve(self.ids, &id) {
                Some(i) => Op::Var(i),
                None => {
                    self.unknown.get_or_insert((id, id_start + 1));
                    Op::Const(f64::NAN)
                }
            };
            self.program.emit(op);
            return Ok(());
        }
        if self.peek() == Some(')') {
            return Err(self.expected(&format!("at least one argument to {name}")));
        }
        let mut n = 0;
        loop {
            self.expr(0)?;
            n += 1;
            self.skip_ws();
            if self.eat(')') {
                break;
            }
            if !self.eat(',') {
                return Err(self.expected("',' or ')'"));
            }
        }
        self.program.emit(if name == "min" {
            Op::Min(n)
        } else {
            Op::Max(n)
        });
        Ok(())
    }
}
